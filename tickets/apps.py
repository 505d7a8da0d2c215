from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        from conversations import hooks
        from tickets.selectors import customer_tickets
        from tickets.services import ticket_for_closed_conversation

        hooks.on_conversation_closed(ticket_for_closed_conversation)
        hooks.on_customer_panel(customer_tickets)
