from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        from conversations import hooks
        from conversations.rooms.cards import register_card
        from customers import hooks as customer_hooks
        from customers.models import TagRule
        from tickets.selectors import (
            complaint_facts,
            customer_tickets,
            ticket_activity,
            ticket_cards,
        )
        from tickets.services import care, chat, ticket_for_closed_conversation
        from tickets.services.customers import record_customer_merge
        from tickets.services.privacy import erase_customer_tickets, export_customer_tickets
        from tickets.services.tickets import deliver_waiting_replies

        hooks.on_conversation_closed(ticket_for_closed_conversation)
        hooks.on_customer_panel(customer_tickets)
        hooks.on_conversation_started(deliver_waiting_replies)
        hooks.on_customer_text(chat.customer_wrote)
        hooks.on_bot_understood(chat.ticket_from_understanding)
        customer_hooks.on_tag_facts(TagRule.Kind.COMPLAINT, "complaints", complaint_facts)
        customer_hooks.on_customers_merged(record_customer_merge)
        customer_hooks.on_customer_activity(ticket_activity)
        customer_hooks.on_customer_export(export_customer_tickets)
        customer_hooks.on_customer_erased(erase_customer_tickets)
        hooks.on_outreach_due(care.resolved_tickets)
        hooks.on_desk_outreach(care.open_vip_revisit)
        register_card("ticket", ticket_cards)
