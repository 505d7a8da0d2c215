from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from helpdesk.admin_tools import ReadOnlyInline
from tickets.models import (
    BusinessCalendar,
    CollaborationRequest,
    Holiday,
    OpeningHours,
    SLAPolicy,
    SLATarget,
    Ticket,
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
        "first_response_due",
        "next_response_due",
        "resolution_due",
        "sla_paused_at",
        "sla_paused_seconds",
        "first_responded_at",
        "first_response_breached_at",
        "next_response_breached_at",
        "resolution_breached_at",
        "resolved_at",
        "closed_at",
        "created_by",
    ]
    inlines = [CommentInline, CollaborationInline, EventInline]
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

    @admin.display(description=_("number"), ordering="pk")
    def number(self, ticket):
        return ticket.number


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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("ticket"), ordering="ticket_id")
    def ticket_number(self, collaboration):
        return collaboration.ticket.number
