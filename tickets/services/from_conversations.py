"""Tickets made from conversations: closed unresolved, a message left, "Create ticket"."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from conversations import selectors as conversation_selectors
from conversations.models import Conversation, Message, OfflineMessage
from tickets.models import Ticket
from tickets.services.tickets import MAX_BODY, classify, open_ticket

TRANSCRIPT_MESSAGES = 50


def ticket_for_closed_conversation(
    *, conversation: Conversation, offline_message: OfflineMessage | None = None
) -> Ticket | None:
    """The closed hook (registered by TicketsConfig): a conversation closed as not
    resolved, or a message left while nobody was online, becomes a ticket, pre-filled
    with the transcript and the bot's understanding. Once per conversation."""
    if offline_message is None and conversation.resolution != Conversation.Resolution.NOT_RESOLVED:
        return None
    if Ticket.objects.filter(conversations=conversation).exists():
        return None
    subject, description, type_code = prefill(conversation, offline_message=offline_message)
    return open_ticket(
        customer=conversation.customer,
        subject=subject,
        description=description,
        type_code=type_code,
        source=Ticket.Source.CHAT,
        conversation=conversation,
        skill_group=conversation.skill_group,
        tags=conversation.tags,
    )


def ticket_from_conversation(
    *, conversation: Conversation, actor, subject: str = "", type_code: str = ""
) -> Ticket:
    """An agent's "Create ticket" in a chat: the subject and type they chose, else those
    the conversation suggests; the transcript and the bot's understanding as the
    description."""
    suggested_subject, description, suggested_type = prefill(conversation)
    return open_ticket(
        customer=conversation.customer,
        subject=subject.strip() or suggested_subject,
        description=description,
        type_code=type_code or suggested_type,
        source=Ticket.Source.AGENT,
        conversation=conversation,
        skill_group=conversation.skill_group,
        tags=conversation.tags,
        actor=actor,
    )


def prefill(
    conversation: Conversation, *, offline_message: OfflineMessage | None = None
) -> tuple[str, str, str]:
    """(subject, description, type code) a ticket from this conversation starts with."""
    history = conversation_selectors.messages_after(conversation.id, 0, limit=TRANSCRIPT_MESSAGES)
    understood = next(
        (m.meta for m in reversed(history) if m.sender == Message.Sender.BOT and m.meta), {}
    )
    said = [m.body for m in history if m.sender == Message.Sender.CUSTOMER and m.body]
    text = offline_message.body if offline_message else (said[0] if said else "")
    subject = (
        text.splitlines()[0][:80]
        if text.strip()
        else _("Conversation of %(when)s")
        % {"when": timezone.localtime(conversation.created_at).strftime("%Y-%m-%d %H:%M")}
    )
    description = transcript(history, understood)
    if offline_message is not None and offline_message.contact:
        contact = _("Contact: %(contact)s") % {"contact": offline_message.contact}
        description = f"{contact}\n\n{description}"
    type_code = classify(
        text=" ".join(said), intent=understood.get("intent", ""), slots=understood.get("slots")
    )
    return subject, description[: MAX_BODY * 5], type_code


def transcript(history: list[Message], understood: dict) -> str:
    """The conversation as text for the ticket's description, with what the bot
    understood last (intent, slots, article)."""
    lines = []
    for message in history:
        who = {
            Message.Sender.CUSTOMER: _("Customer"),
            Message.Sender.BOT: _("Bot"),
            Message.Sender.AGENT: message.sender_name or _("Agent"),
        }.get(message.sender)
        if who is None or not message.body:
            continue
        stamp = timezone.localtime(message.created_at).strftime("%H:%M")
        lines.append(f"[{stamp}] {who}: {message.body}")
    if understood.get("intent") or understood.get("article"):
        slots = ", ".join(f"{k}={v}" for k, v in (understood.get("slots") or {}).items())
        lines.append("")
        lines.append(
            _("The bot understood: intent %(intent)s, article %(article)s, %(slots)s")
            % {
                "intent": understood.get("intent") or "—",
                "article": understood.get("article") or "—",
                "slots": slots or "—",
            }
        )
    return "\n".join(lines)
