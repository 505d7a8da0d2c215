from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save
from django.utils.translation import gettext_lazy as _


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = _("Conversations")

    def ready(self):
        from conversations import hooks
        from conversations.roles import ensure_roles
        from conversations.selectors import conversation_activity
        from conversations.services import care, privacy, tagging
        from customers import hooks as customer_hooks
        from customers.models import TagRule

        # Permissions exist only after migrate; the roles follow them there.
        post_migrate.connect(ensure_roles, sender=self, dispatch_uid="lumen.ensure_roles")

        hooks.on_conversation_closed(tagging.retag_after_close)
        # A skill group's team room exists as soon as the group does.
        post_save.connect(
            _group_room, sender="conversations.SkillGroup", dispatch_uid="lumen.group_room"
        )
        customer_hooks.on_tag_facts(TagRule.Kind.INTENT, "chats", tagging.intent_facts)
        customer_hooks.on_tag_facts(TagRule.Kind.ARTICLE, "chats", tagging.article_facts)
        customer_hooks.on_tag_facts(TagRule.Kind.EMOTION, "chats", tagging.emotion_facts)
        customer_hooks.on_customer_activity(conversation_activity)
        customer_hooks.on_customer_export(privacy.export_customer_conversations)
        customer_hooks.on_customer_erased(privacy.erase_customer_conversations)
        customer_hooks.on_outreach_claimed(care.send_due_soon)


def _group_room(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        from conversations.rooms.services import ensure_group_room

        ensure_group_room(instance)
