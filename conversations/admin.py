from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from conversations.models import Agent, Conversation, Message, SkillGroup
from helpdesk.admin_tools import ReadOnlyInline


@admin.register(SkillGroup)
class SkillGroupAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "agent_count"]
    search_fields = ["code", "name_zh", "name_en"]

    @admin.display(description=_("agents"))
    def agent_count(self, obj):
        return obj.agents.count()


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "status", "capacity", "last_seen_at"]
    list_filter = ["status", "skill_groups"]
    search_fields = ["display_name", "user__username", "user__email"]
    filter_horizontal = ["skill_groups"]
    autocomplete_fields = ["user"]


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ["seq", "sender", "sender_name", "body", "client_id", "created_at"]
    ordering = ["seq"]
    show_change_link = False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "channel", "status", "assignee", "last_seq", "created_at"]
    list_filter = ["status", "channel", "language", "skill_group", "assignee"]
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
    inlines = [MessageInline]


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
