from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from conversations.models import (
    Agent,
    CannedReply,
    Conversation,
    DedicatedAgent,
    InternalNote,
    Message,
    Notice,
    OfflineMessage,
    Participant,
    SkillGroup,
    Survey,
    WidgetSite,
)
from helpdesk.admin_tools import ReadOnlyInline


@admin.register(SkillGroup)
class SkillGroupAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name_zh",
        "name_en",
        "strategy",
        "prefer_returning_agent",
        "prefer_dedicated_agent",
        "overflow_group",
        "overflow_after",
        "in_menu",
        "agent_count",
    ]
    list_editable = ["strategy", "in_menu"]
    search_fields = ["code", "name_zh", "name_en"]
    fieldsets = [
        (None, {"fields": ["code", "name_zh", "name_en", "in_menu", "position"]}),
        (
            _("Routing"),
            {
                "fields": [
                    "strategy",
                    "prefer_dedicated_agent",
                    "prefer_returning_agent",
                    "returning_window_hours",
                    "overflow_group",
                    "overflow_after",
                ]
            },
        ),
    ]

    @admin.display(description=_("agents"))
    def agent_count(self, obj):
        return obj.agents.count()


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = [
        "display_name",
        "user",
        "status",
        "capacity",
        "last_assigned_at",
        "last_seen_at",
    ]
    list_editable = ["capacity"]
    readonly_fields = ["status_changed_at", "last_assigned_at", "last_seen_at"]
    list_filter = ["status", "skill_groups"]
    search_fields = ["display_name", "user__username", "user__email"]
    filter_horizontal = ["skill_groups"]
    autocomplete_fields = ["user"]


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ["seq", "sender", "sender_name", "body", "client_id", "created_at"]
    ordering = ["seq"]
    show_change_link = False


class InternalNoteInline(ReadOnlyInline):
    model = InternalNote
    fields = ["created_at", "agent", "kind", "body"]
    ordering = ["created_at"]


class ParticipantInline(ReadOnlyInline):
    model = Participant
    fk_name = "conversation"
    fields = ["agent", "invited_by", "joined_at", "left_at"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "customer",
        "channel",
        "status",
        "priority",
        "skill_group",
        "assignee",
        "resolution",
        "last_seq",
        "created_at",
    ]
    list_filter = [
        "status",
        "channel",
        "language",
        "priority",
        "resolution",
        "skill_group",
        "assignee",
    ]
    search_fields = ["id", "customer__name", "customer__external_id", "customer__email"]
    list_select_related = ["customer", "assignee"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "id",
        "last_seq",
        "customer_read_seq",
        "agent_read_seq",
        "created_at",
        "updated_at",
        "last_message_at",
        "queued_at",
        "assigned_at",
        "closed_at",
    ]
    raw_id_fields = ["customer"]
    inlines = [MessageInline, InternalNoteInline, ParticipantInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["conversation", "seq", "sender", "short_body", "created_at"]
    list_filter = ["sender"]
    search_fields = ["body", "client_id", "conversation__id"]
    list_select_related = ["conversation"]
    readonly_fields = [f.name for f in Message._meta.fields]

    @admin.display(description=_("body"))
    def short_body(self, obj):
        return obj.body[:80]

    def has_add_permission(self, request):
        return False


@admin.register(DedicatedAgent)
class DedicatedAgentAdmin(admin.ModelAdmin):
    list_display = ["customer", "agent"]
    list_select_related = ["customer", "agent"]
    search_fields = ["customer__name", "customer__external_id", "agent__display_name"]
    raw_id_fields = ["customer"]
    autocomplete_fields = ["agent"]


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ["shortcut", "language", "title", "skill_group", "updated_at"]
    list_filter = ["language", "skill_group"]
    search_fields = ["shortcut", "title", "body"]


@admin.register(OfflineMessage)
class OfflineMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "customer", "skill_group", "short_body", "contact", "handled_at"]
    list_filter = ["skill_group", ("handled_at", admin.EmptyFieldListFilter)]
    search_fields = ["body", "contact", "customer__name", "customer__external_id"]
    list_select_related = ["customer", "skill_group"]
    readonly_fields = ["conversation", "customer", "skill_group", "body", "contact", "created_at"]

    @admin.display(description=_("message"))
    def short_body(self, obj):
        return obj.body[:80]

    def has_add_permission(self, request):
        return False


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ["agent", "kind", "text_en", "created_at", "read_at"]
    list_filter = ["kind", "read_at"]
    search_fields = ["text_zh", "text_en", "agent__display_name"]
    readonly_fields = ["agent", "kind", "key", "text_zh", "text_en", "url", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["conversation", "customer", "score", "answered_at", "created_at"]
    list_filter = ["score"]
    raw_id_fields = ["conversation", "customer"]
    readonly_fields = [
        "conversation",
        "customer",
        "outreach",
        "question",
        "reward_points",
        "score",
        "comment",
        "created_at",
        "answered_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(WidgetSite)
class WidgetSiteAdmin(admin.ModelAdmin):
    """The shop sites that show the chat widget, with the tag to put on their pages."""

    list_display = ["name", "key", "enabled", "language", "origins_shown"]
    list_filter = ["enabled"]
    search_fields = ["name", "key", "allowed_origins"]
    readonly_fields = ["script_tag", "created_at"]
    fields = ["name", "key", "allowed_origins", "language", "enabled", "script_tag", "created_at"]

    @admin.display(description=_("allowed origins"))
    def origins_shown(self, obj: WidgetSite) -> str:
        return ", ".join(obj.origins)

    @admin.display(description=_("the script tag"))
    def script_tag(self, obj: WidgetSite) -> str:
        if obj.pk is None:
            return "–"
        return format_html(
            '<code>&lt;script src="https://{}/widget.js" data-channel="{}" async&gt;&lt;/script&gt;</code>',
            _("your-helpdesk-host"),
            obj.key,
        )
