import json

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from helpdesk.admin_tools import ReadOnlyInline
from tickets.models import (
    ACTION_HELP,
    RULE_HELP_CONDITIONS,
    AutomationRule,
    BusinessCalendar,
    CollaborationRequest,
    Holiday,
    Macro,
    OpeningHours,
    RuleRun,
    SLAPolicy,
    SLATarget,
    Ticket,
    TicketClock,
    TicketComment,
    TicketEvent,
    TicketType,
)
from tickets.services import EDITABLE, change_ticket


@admin.register(TicketType)
class TicketTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "urgency", "skill_group", "position"]
    list_editable = ["urgency", "skill_group", "position"]
    search_fields = ["code", "name_zh", "name_en"]


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone"]
    inlines = [OpeningHoursInline, HolidayInline]


class SLATargetInline(admin.TabularInline):
    model = SLATarget
    extra = 0


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "calendar", "at_risk_ratio", "is_default"]
    inlines = [SLATargetInline]


class CommentInline(ReadOnlyInline):
    model = TicketComment
    fields = ["created_at", "author", "from_customer", "public", "body"]


class CollaborationInline(ReadOnlyInline):
    model = CollaborationRequest
    fields = ["created_at", "from_agent", "to_group", "owner", "status", "due_at", "note"]
    show_change_link = True


class ClockInline(ReadOnlyInline):
    model = TicketClock
    fields = ["clock", "due", "risk_at", "warned_at", "breached_at", "paused"]


class EventInline(ReadOnlyInline):
    model = TicketEvent
    fields = ["created_at", "kind", "actor", "field", "old", "new"]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "subject",
        "type",
        "priority",
        "status",
        "customer",
        "skill_group",
        "assignee",
        "resolution_due",
        "created_at",
    ]
    list_filter = ["status", "priority", "type", "source", "skill_group"]
    search_fields = ["subject", "customer__name", "customer__external_id"]
    list_select_related = ["type", "customer", "skill_group", "assignee"]
    raw_id_fields = ["customer", "conversations", "assignee"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "sla_paused_at",
        "sla_paused_seconds",
        "first_responded_at",
        "resolved_at",
        "closed_at",
        "created_by",
    ]
    inlines = [ClockInline, CommentInline, CollaborationInline, EventInline]
    fields = [
        "subject",
        "status",
        "priority",
        "type",
        "skill_group",
        "assignee",
        "tags",
        "customer",
        "conversations",
        "source",
        "description",
        "sla_policy",
        *readonly_fields,
    ]

    def get_readonly_fields(self, request, obj=None):
        # Opened by the services (chat, desk, API); here only what change_ticket changes,
        # so every edit has its timeline row and the clocks follow.
        return [f for f in self.fields if f not in EDITABLE]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE}
        if "type" in changes:
            changes["type"] = changes["type"].code
        if changes:
            change_ticket(ticket_id=obj.pk, actor=request.user, **changes)

    def save_related(self, request, form, formsets, change):
        pass  # no editable relations: conversations are linked by the services

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("clocks")

    @admin.display(description=_("number"), ordering="pk")
    def number(self, ticket):
        return ticket.number

    @admin.display(description=_("resolution due"))
    def resolution_due(self, ticket):
        return ticket.resolution_due


# --- automation ---------------------------------------------------------------------


class DefinitionField(forms.JSONField):
    """A rule's or macro's JSON, shown indented and with its Chinese as written: easier to
    read and edit than one long line. Empty means an empty list."""

    widget = forms.Textarea(attrs={"rows": 12, "cols": 100, "style": "font-family: monospace"})

    # PostgreSQL keeps JSON objects with their keys sorted its own way; people read
    # "action" or "field" first.
    KEY_ORDER = ("action", "field", "op", "value", "business", "to", "zh", "en")

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        if isinstance(value, list):
            value = [self._ordered(item) for item in value]
        return json.dumps(value, ensure_ascii=False, indent=2)

    def _ordered(self, item):
        if not isinstance(item, dict):
            return item
        rank = {key: n for n, key in enumerate(self.KEY_ORDER)}
        return dict(sorted(item.items(), key=lambda pair: rank.get(pair[0], len(rank))))

    def clean(self, value):
        cleaned = super().clean(value)
        return [] if cleaned is None else cleaned


class AutomationRuleForm(forms.ModelForm):
    conditions = DefinitionField(
        required=False, label=_("conditions"), help_text=RULE_HELP_CONDITIONS
    )
    actions = DefinitionField(required=False, label=_("actions"), help_text=ACTION_HELP)

    class Meta:
        model = AutomationRule
        fields = ["name", "trigger", "conditions", "actions", "position", "is_active"]


@admin.register(AutomationRule)
class AutomationRuleAdmin(admin.ModelAdmin):
    """Mistakes in the conditions or actions are refused by the model's clean(), each
    with its number and what is wrong, shown beside the field."""

    form = AutomationRuleForm
    list_display = ["name", "trigger", "is_active", "position", "updated_at"]
    list_editable = ["is_active", "position"]
    list_filter = ["trigger", "is_active"]
    search_fields = ["name"]


@admin.register(RuleRun)
class RuleRunAdmin(admin.ModelAdmin):
    """Time-based rules fired, once per ticket. Deleting a row lets the rule fire on
    that ticket again."""

    list_display = ["rule", "ticket", "ran_at"]
    list_filter = ["rule"]
    list_select_related = ["rule", "ticket"]
    raw_id_fields = ["ticket"]
    readonly_fields = ["rule", "ticket", "ran_at"]


@admin.register(CollaborationRequest)
class CollaborationRequestAdmin(admin.ModelAdmin):
    """Read-only: requests change through their steps in the desk (each with its timeline
    row and notices), never by editing the row."""

    list_display = [
        "ticket_number",
        "from_agent",
        "to_group",
        "owner",
        "status",
        "due_at",
        "overdue_at",
        "created_at",
    ]
    list_filter = ["status", "to_group"]
    search_fields = ["note", "answer", "ticket__subject", "from_agent__display_name"]
    list_select_related = ["ticket", "from_agent", "to_group", "owner"]
    date_hierarchy = "created_at"
    fields = [
        "ticket",
        "from_agent",
        "to_group",
        "owner",
        "status",
        "note",
        "context",
        "answer",
        "due_at",
        "overdue_at",
        "created_at",
        "accepted_at",
        "answered_at",
        "declined_at",
        "withdrawn_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("ticket"), ordering="ticket_id")
    def ticket_number(self, collaboration):
        return collaboration.ticket.number

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MacroForm(forms.ModelForm):
    actions = DefinitionField(required=False, label=_("actions"), help_text=ACTION_HELP)

    class Meta:
        model = Macro
        fields = ["name_zh", "name_en", "actions", "skill_groups", "position", "is_active"]


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    form = MacroForm
    list_display = ["name_zh", "name_en", "is_active", "position"]
    list_editable = ["is_active", "position"]
    list_filter = ["is_active", "skill_groups"]
    search_fields = ["name_zh", "name_en"]
    filter_horizontal = ["skill_groups"]
