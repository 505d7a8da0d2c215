from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from helpdesk import audit
from helpdesk.admin_tools import ReadOnlyAdmin, ReadOnlyInline
from helpdesk.api_keys import issue_api_key, revoke_api_keys
from helpdesk.models import (
    SCOPES,
    WEBHOOK_EVENTS,
    ApiKey,
    AuditEntry,
    OutboundEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from helpdesk.webhooks import deliveries, subscriptions
from helpdesk.webhooks.targets import TargetRefused, check_url


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
        key, raw = issue_api_key(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data.get("expires_at"),
            by=request.user,
        )
        obj.pk = key.pk
        obj.refresh_from_db()
        messages.warning(request, _("The new key, shown only this once: %(key)s") % {"key": raw})

    @admin.action(description=_("Revoke selected keys"), permissions=["change"])
    def revoke(self, request, queryset):
        count = revoke_api_keys(
            key_ids=list(queryset.values_list("pk", flat=True)), by=request.user
        )
        self.message_user(request, _("%(count)s keys revoked.") % {"count": count})


@admin.register(OutboundEvent)
class OutboundEventAdmin(admin.ModelAdmin):
    """The outbox of partner events: read-only, for tracing what was told when."""

    list_display = ["event", "id", "created_at", "fanned_out_at"]
    list_filter = ["event"]
    date_hierarchy = "created_at"
    readonly_fields = ["id", "event", "data", "created_at", "seq", "fanned_out_at"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.CharField(label=_("URL"), max_length=2000)  # checked by check_url
    events = forms.MultipleChoiceField(
        choices=[(event, event) for event in WEBHOOK_EVENTS],
        widget=forms.CheckboxSelectMultiple,
        label=_("events"),
    )

    class Meta:
        model = WebhookSubscription
        fields = ["api_key", "url", "events", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "api_key" in self.fields:
            self.fields["api_key"].queryset = ApiKey.objects.filter(
                revoked_at__isnull=True, scopes__contains=["webhooks"]
            )
            self.fields["api_key"].help_text = _(
                "A key with the webhooks scope: its owner sees this subscription through the API."
            )

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            check_url(url)
        except TargetRefused as refused:
            raise forms.ValidationError(str(refused)) from None
        api_key = self.cleaned_data.get("api_key") or getattr(self.instance, "api_key", None)
        if (
            api_key is not None
            and WebhookSubscription.objects.filter(api_key=api_key, url=url)
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            raise forms.ValidationError(_("This key already has a subscription to this URL."))
        return url


class WebhookAttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ["number", "started_at", "duration_ms", "status_code", "error", "response_excerpt"]
    ordering = ["-number"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    """Partners' subscriptions: made here for a key or through the API; the secret shown
    once; the latest attempts; "Send test event"; enabling one disabled after failures."""

    form = WebhookSubscriptionForm
    change_form_template = "admin/helpdesk/webhooksubscription/change_form.html"
    list_display = [
        "url",
        "api_key",
        "events",
        "active",
        "consecutive_failures",
        "disabled_at",
        "created_at",
    ]
    list_filter = ["active"]
    list_select_related = ["api_key"]
    search_fields = ["url", "api_key__name"]
    actions = ["enable"]

    # What a subscription shows once made; its key is fixed then.
    shown = [
        "created_at",
        "updated_at",
        "consecutive_failures",
        "disabled_at",
        "disabled_reason",
        "deliveries",
        "recent_attempts",
    ]

    def get_fields(self, request, obj=None):
        editable = ["api_key", "url", "events", "active"]
        return editable if obj is None else editable + self.shown

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["api_key", *self.shown]

    @admin.display(description=_("deliveries"))
    def deliveries(self, subscription):
        url = reverse("admin:helpdesk_webhookdelivery_changelist")
        return format_html(
            '<a href="{}?subscription__id__exact={}">{}</a>',
            url,
            subscription.pk,
            _("All deliveries of this subscription"),
        )

    @admin.display(description=_("latest attempts"))
    def recent_attempts(self, subscription):
        attempts = (
            WebhookAttempt.objects.filter(delivery__subscription=subscription)
            .select_related("delivery__event")
            .order_by("-started_at", "-id")[:10]
        )
        if not attempts:
            return _("None yet.")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>#{}</td><td>{}</td><td>{} ms</td><td>{}</td>"
            "<td><code>{}</code></td></tr>",
            (
                (
                    timezone.localtime(attempt.started_at).strftime("%Y-%m-%d %H:%M:%S"),
                    attempt.delivery.event.event,
                    attempt.number,
                    attempt.status_code or "—",
                    attempt.duration_ms,
                    attempt.error,
                    attempt.response_excerpt[:200],
                )
                for attempt in attempts
            ),
        )
        head = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            _("started"),
            _("event"),
            _("attempt"),
            _("status"),
            _("duration"),
            _("error"),
            _("response"),
        )
        return format_html("<table>{}{}</table>", head, rows)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            subscriptions.change_subscription(
                subscription_id=obj.pk,
                url=data["url"],
                events=data["events"],
                active=data["active"],
            )
            obj.refresh_from_db()
            return
        made = subscriptions.create_subscription(
            api_key=data["api_key"], url=data["url"], events=data["events"], active=data["active"]
        )
        obj.pk = made.pk
        obj.refresh_from_db()
        messages.warning(
            request,
            _("The signing secret, shown only this once: %(secret)s") % {"secret": made.secret},
        )

    def get_deleted_objects(self, objs, request):
        # Django's own listing walks every delivery and attempt (there may be 200,000).
        subscriptions = list(objs)
        deliveries = WebhookDelivery.objects.filter(subscription__in=subscriptions).count()
        counts = {
            WebhookSubscription._meta.verbose_name_plural: len(subscriptions),
            WebhookDelivery._meta.verbose_name_plural: deliveries,
        }
        return [str(subscription) for subscription in subscriptions], counts, set(), []

    def delete_model(self, request, obj):
        subscriptions.delete_subscription(subscription_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for pk in list(queryset.values_list("pk", flat=True)):
            subscriptions.delete_subscription(subscription_id=pk)

    @admin.action(description=_("Enable the selected subscriptions again"), permissions=["change"])
    def enable(self, request, queryset):
        count = subscriptions.enable_subscriptions(
            subscription_ids=list(queryset.values_list("pk", flat=True))
        )
        self.message_user(request, _("%(count)s subscriptions enabled.") % {"count": count})

    def get_urls(self):
        return [
            path(
                "<uuid:subscription_id>/send-test/",
                self.admin_site.admin_view(self.send_test_view),
                name="helpdesk_webhooksubscription_send_test",
            ),
            *super().get_urls(),
        ]

    def send_test_view(self, request, subscription_id):
        """POST: a `webhook.test` event sent now to this subscription, the outcome shown."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            return redirect("admin:index")
        subscription = get_object_or_404(WebhookSubscription, pk=subscription_id)
        delivery = subscriptions.send_test_event(subscription_id=subscription.pk)
        outcome = deliveries.deliver_due(only=delivery.pk).last
        if outcome is not None and outcome.delivered:
            self.message_user(
                request,
                _("Test event delivered: HTTP %(status)s in %(ms)s ms.")
                % {"status": outcome.status_code, "ms": outcome.duration_ms},
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request,
                _("Test event not delivered: %(why)s")
                % {"why": outcome.summary() if outcome else _("it could not be sent.")},
                messages.ERROR,
            )
        return redirect("admin:helpdesk_webhooksubscription_change", subscription.pk)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """Every delivery with its attempts: read-only, for tracing what a partner was sent."""

    list_display = [
        "event_kind",
        "event",
        "subscription",
        "state",
        "attempts",
        "last_status_code",
        "last_error",
        "created_at",
        "finished_at",
    ]
    list_filter = ["state", "subscription"]
    list_select_related = ["event", "subscription"]
    show_full_result_count = False
    fields = [
        "event",
        "event_kind",
        "subscription",
        "state",
        "attempts",
        "due_at",
        "created_at",
        "finished_at",
        "last_status_code",
        "last_error",
        "subject",
    ]
    readonly_fields = fields
    inlines = [WebhookAttemptInline]

    @admin.display(description=_("event"), ordering="event__event")
    def event_kind(self, delivery):
        return delivery.event.event


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log (docs/security.md): for supervisors to read, never to change — not
    even a superuser may add, change or delete an entry here."""

    list_display = [
        "created_at",
        "action",
        "actor_name",
        "target_type",
        "target_id",
        "target_repr",
        "ip",
    ]
    list_filter = ["action", "target_type", "created_at"]
    search_fields = ["actor_name", "target_repr", "target_id", "ip"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = [
        "created_at",
        "action",
        "actor",
        "actor_name",
        "target_type",
        "target_id",
        "target_repr",
        "ip",
        "details",
    ]
    readonly_fields = fields


def _access(user) -> dict:
    """What a user may do: the flags, groups and own permissions an audit entry compares."""
    flags = {
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
    }
    if user.pk is None:  # a user being added: a new user's defaults before
        return flags | {"groups": [], "permissions": []}
    return flags | {
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "permissions": sorted(
            f"{app}.{codename}"
            for app, codename in user.user_permissions.values_list(
                "content_type__app_label", "codename"
            )
        ),
    }


def _differences(before: dict, after: dict) -> dict:
    changes = {}
    for name, old in before.items():
        new = after[name]
        if isinstance(old, list):
            added, removed = sorted(set(new) - set(old)), sorted(set(old) - set(new))
            if added or removed:
                changes[name] = {"added": added, "removed": removed}
        elif old != new:
            changes[name] = {"before": old, "after": new}
    return changes


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class AuditedUserAdmin(UserAdmin):
    """Django's user admin; a change to what a user may do (active, staff, superuser,
    groups, own permissions) and a password set here get an audit entry, in the page's
    transaction."""

    def save_model(self, request, obj, form, change):
        stored = User.objects.filter(pk=obj.pk).first() if change else None
        request._access_before = _access(stored) if stored else _access(User())
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        user = form.instance
        changes = _differences(request._access_before, _access(user))
        if changes:
            audit.record(
                action=audit.Action.USER_ACCESS_CHANGED,
                actor=request.user,
                target=user,
                details=changes,
            )

    def user_change_password(self, request, id, form_url=""):
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                user = User.objects.get(pk=id)
                audit.record(action=audit.Action.PASSWORD_SET, actor=request.user, target=user)
        return response


@admin.register(Group)
class AuditedGroupAdmin(GroupAdmin):
    """Django's group admin; a change to a group's permissions gets an audit entry."""

    def save_model(self, request, obj, form, change):
        request._permissions_before = (
            sorted(_permission_names(Group.objects.get(pk=obj.pk))) if change else []
        )
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        group = form.instance
        changes = _differences(
            {"permissions": request._permissions_before},
            {"permissions": sorted(_permission_names(group))},
        )
        if changes:
            audit.record(
                action=audit.Action.GROUP_PERMISSIONS_CHANGED,
                actor=request.user,
                target=group,
                details=changes,
            )


def _permission_names(group) -> list[str]:
    return [
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    ]
