from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = _("Conversations")

    def ready(self):
        from conversations.roles import ensure_roles

        # Permissions exist only after migrate; the roles follow them there.
        post_migrate.connect(ensure_roles, sender=self, dispatch_uid="lumen.ensure_roles")
