from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models import SCOPES, ApiKey, OutboundEvent


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=SCOPES, widget=forms.CheckboxSelectMultiple, label=_("scopes")
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "expires_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = [
        "name",
        "prefix",
        "scopes",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        # A key's scopes are fixed once issued: issue a new key to change them.
        return ["prefix", "scopes", "created_at", "last_used_at", "revoked_at"] if obj else []

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            kwargs["fields"] = ["name", "expires_at"]
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = ApiKey.issue(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data.get("expires_at"),
            created_by=request.user,
        )
        obj.pk = key.pk
        obj.refresh_from_db()
        messages.warning(request, _("The new key, shown only this once: %(key)s") % {"key": raw})

    @admin.action(description=_("Revoke selected keys"), permissions=["change"])
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, _("%(count)s keys revoked.") % {"count": count})


@admin.register(OutboundEvent)
class OutboundEventAdmin(admin.ModelAdmin):
    """The outbox of partner events: read-only, for tracing what was told when."""

    list_display = ["event", "id", "created_at"]
    list_filter = ["event"]
    date_hierarchy = "created_at"
    readonly_fields = ["id", "event", "data", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
