"""The two staff roles, kept in step with the models after every migrate."""

from django.contrib.auth.models import Group, Permission

SUPERVISORS = "Supervisors"
AGENTS = "Agents"

_SUPERVISOR_APPS = ["conversations", "customers", "knowledge", "tickets", "analytics"]
_AGENT_PERMISSIONS = [
    "conversations.view_conversation",
    "conversations.view_message",
    "conversations.view_skillgroup",
    "conversations.view_agent",
    "customers.view_customer",
    "customers.change_customer",
    "customers.merge_customers",
    "tickets.view_ticket",
    "tickets.change_ticket",
]


def ensure_roles(**kwargs) -> None:
    """Create the Supervisors and Agents groups and give them their permissions."""
    supervisors, _ = Group.objects.get_or_create(name=SUPERVISORS)
    supervisors.permissions.set(
        Permission.objects.filter(content_type__app_label__in=_SUPERVISOR_APPS)
    )
    agents, _ = Group.objects.get_or_create(name=AGENTS)
    wanted = [name.split(".", 1) for name in _AGENT_PERMISSIONS]
    agents.permissions.set(
        [
            permission
            for permission in Permission.objects.filter(
                content_type__app_label__in={app for app, _ in wanted}
            ).select_related("content_type")
            if [permission.content_type.app_label, permission.codename] in wanted
        ]
    )
