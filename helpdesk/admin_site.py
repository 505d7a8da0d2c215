"""The project's admin site: Django's, with the throttled login form (helpdesk/logins.py)
and every deletion made through it written to the audit log, whichever app's model."""

from __future__ import annotations

from django.contrib import admin

from helpdesk import audit
from helpdesk.logins import AdminLoginForm, refusal_status


class AuditedDeletions:
    """Mixed into every ModelAdmin the site registers: each object deleted (the delete
    page or the "delete selected" action) gets an audit entry, written where Django writes
    its own admin log entry (inside the delete page's transaction)."""

    def log_deletions(self, request, queryset):
        entries = super().log_deletions(request, queryset)
        for obj in queryset:
            audit.record(action=audit.Action.DELETED, actor=request.user, target=obj)
        return entries


class LumenAdminSite(admin.AdminSite):
    login_form = AdminLoginForm

    def login(self, request, extra_context=None):
        return refusal_status(request, super().login(request, extra_context))

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, AuditedDeletions):
            admin_class = type(
                admin_class.__name__,
                (AuditedDeletions, admin_class),
                {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
            )
        return super().register(model_or_iterable, admin_class, **options)
