"""The bot's turn in a conversation: understand, act (answer, ask, serve, hand off), reply.

Runs right after a customer's message is stored, while the conversation is
with the bot. Everything the bot says is a Message with `meta` (action,
intent, article, confidence, slots) as in the chat protocol.
"""

from __future__ import annotations

from uuid import UUID

from django.db import transaction
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import override

from conversations import hooks
from conversations.models import Conversation, Message
from conversations.services import recommendations
from conversations.services.messages import post_bot_message
from conversations.services.workflow import request_handoff
from conversations.speech import transcribe
from customers import commerce as shop
from customers.models import Customer, Order
from helpdesk.languages import django_language
from knowledge import assistant
from knowledge.bot import Context, Decision

FALLBACKS_BEFORE_HANDOFF = 2

ORDER_STATUS_TEXT = {
    "pending": lambda: _("awaiting payment"),
    "paid": lambda: _("paid, being prepared for shipment"),
    "shipped": lambda: _("shipped"),
    "delivered": lambda: _("delivered"),
    "cancelled": lambda: _("cancelled"),
    "returned": lambda: _("returned"),
}
AFTER_SALES_KIND_TEXT = {
    "return": lambda: _("return"),
    "exchange": lambda: _("exchange"),
    "repair": lambda: _("repair"),
}


def bot_turn(*, conversation_id: UUID, message_id: UUID) -> Message | None:
    """Answer one customer message if the conversation is with the bot.

    Holds the conversation's row lock for the whole turn, so two quick
    messages are answered one after the other with the context of the first.
    Returns the bot's message (None when a person has the conversation).
    """
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("customer")
            .get(pk=conversation_id)
        )
        if conversation.status != Conversation.Status.BOT:
            return None
        message = Message.objects.prefetch_related("attachment_set").get(pk=message_id)
        with override(django_language(conversation.language)):
            return _turn(conversation, message)


def _turn(conversation: Conversation, message: Message) -> Message:
    language = conversation.language
    text = message.body.strip()
    audio = [a for a in message.attachment_set.all() if a.kind == "audio"]
    if not text and audio:
        text = transcribe(audio[0]) or ""
        if not text:
            return _say(
                conversation,
                _(
                    "I can't listen to voice messages yet. Could you type your question, or tap “Talk to a person”?"
                ),
                {
                    "action": "fallback",
                    "intent": None,
                    "article": None,
                    "confidence": 0.0,
                    "slots": {},
                },
            )
    if not text:
        return _say(
            conversation,
            _(
                "Thanks, I've received your file. If a person should look at it, tap “Talk to a person”."
            ),
            {"action": "fallback", "intent": None, "article": None, "confidence": 0.0, "slots": {}},
        )
    handled = hooks.customer_text(conversation=conversation, message=message, text=text)
    if handled:
        return _say(
            conversation,
            handled,
            {"action": "answer", "intent": None, "article": None, "confidence": 1.0, "slots": {}},
        )
    context = Context.from_dict(conversation.bot_context)
    context.customer_level = conversation.customer.level
    decision = assistant.understand(text, language=language, context=context)
    if (
        decision.action == "fallback"
        and decision.next_context.fallbacks_in_a_row >= FALLBACKS_BEFORE_HANDOFF
    ):
        # The customer should not have to try a third time: a person takes over.
        decision.action, decision.handoff_reason = "handoff", "fallbacks"
        decision.next_context.fallbacks_in_a_row = 0
    conversation.bot_context = decision.next_context.to_dict()
    conversation.save(update_fields=["bot_context"])
    meta = decision.to_meta()
    if decision.action == "answer":
        reply = _answer(conversation, decision, meta)
    elif decision.action == "ask_slot":
        reply = _say(conversation, slot_prompt(decision), meta)
    elif decision.action == "self_service":
        reply = _self_service(conversation, decision, meta)
    elif decision.action == "handoff":
        reply = _hand_off(conversation, decision, meta, text)
    else:
        reply = _fallback(conversation, decision, meta, text)
    hooks.bot_understood(conversation=conversation, text=text, meta=reply.meta)
    recommendations.offer_after_answer(conversation=conversation, meta=reply.meta)
    return reply


def _say(conversation: Conversation, body: str, meta: dict) -> Message:
    return post_bot_message(
        conversation_id=conversation.id, body=body, meta=meta, language=conversation.language
    )


def answer_text(article: str, language: str) -> str | None:
    """An article as a chat reply: title, the answer, a link to read it all."""
    found = assistant.article_reply(article, language)
    if found is None:
        return None
    title, text = found
    more = _("Read more: %(link)s") % {"link": f"/help/a/{article}/?lang={language}"}
    return f"{title}\n\n{text}\n\n{more}"


def fallback_text(suggestions: list[str], language: str) -> tuple[str, list[str]]:
    """The "not sure" reply, offering the closest articles; (text, their slugs)."""
    titles = assistant.article_titles(suggestions[:3], language)
    if not titles:
        return _(
            "Sorry, I can't help with that. I can answer questions about orders, delivery, returns, "
            "warranty, coupons and your account — or tap “Talk to a person”."
        ), []
    lines = "\n".join(f"· {title} — /help/a/{slug}/?lang={language}" for slug, title in titles)
    body = _(
        "I'm not sure I understood. These may help:\n%(articles)s\nOr tap “Talk to a person”."
    ) % {"articles": lines}
    return body, [slug for slug, _title in titles]


def handoff_text(reason: str | None) -> str:
    """What the customer is told when a person takes over, by the reason for it."""
    if reason == "emotion":
        return _(
            "I'm sorry about this. I'm passing you to a person right away; they will see our whole "
            "conversation, so you won't need to repeat anything."
        )
    if reason == "fallbacks":
        return _(
            "I haven't managed to help, so I'm bringing in a person. They will see our whole conversation."
        )
    return _(
        "Of course — I'm connecting you to a person now. You'll see their name here when they join, "
        "and they can read everything above."
    )


def _answer(conversation: Conversation, decision: Decision, meta: dict) -> Message:
    body = answer_text(decision.article, conversation.language)
    if body is None:
        return _fallback(conversation, decision, meta, "")
    return _say(conversation, body, meta)


def _fallback(conversation: Conversation, decision: Decision, meta: dict, text: str) -> Message:
    body, meta["suggestions"] = fallback_text(decision.suggestions, conversation.language)
    if text:
        assistant.record_unanswered(
            text=text,
            language=conversation.language,
            outcome="fallback",
            conversation_id=conversation.id,
            decision=decision,
        )
    return _say(conversation, body, meta)


def _hand_off(conversation: Conversation, decision: Decision, meta: dict, text: str) -> Message:
    meta["handoff_reason"] = decision.handoff_reason
    reply = _say(conversation, handoff_text(decision.handoff_reason), meta)
    request_handoff(
        conversation_id=conversation.id,
        skill_group_code=_skill_group_for(conversation, decision),
        reason=decision.handoff_reason or "request",
    )
    assistant.record_unanswered(
        text=text,
        language=conversation.language,
        outcome="handoff",
        conversation_id=conversation.id,
        decision=decision,
    )
    return reply


def answer_without_conversation(text: str, language: str) -> tuple[str, dict]:
    """POST /api/v1/bot/answer: the same engine and replies, with no conversation and no
    side effects. Self-service needs a signed-in customer in a conversation, so here it is
    described (intent and slots in `meta`) for the partner to carry out."""
    with override(django_language(language)):
        decision = assistant.understand(text, language=language, context=Context())
        meta = decision.to_meta()
        if decision.action == "answer":
            reply = answer_text(decision.article, language)
            if reply is not None:
                return reply, meta
            decision.suggestions = [decision.article]
        if decision.action == "ask_slot":
            return slot_prompt(decision), meta
        if decision.action == "self_service":
            if decision.intent == "greeting":
                return greeting_text(), meta
            if decision.intent == "thanks_goodbye":
                return goodbye_text(), meta
            return _("I can do that for a signed-in customer in the chat."), meta
        if decision.action == "handoff":
            meta["handoff_reason"] = decision.handoff_reason
            return handoff_text(decision.handoff_reason), meta
        reply, meta["suggestions"] = fallback_text(decision.suggestions, language)
        meta["action"] = "fallback"
        return reply, meta


def _skill_group_for(conversation: Conversation, decision: Decision) -> str | None:
    """The group that should take this handoff: VIP service for VIPs; else the group of
    what was asked (the intent, or the article's category); and when the request names
    no topic ("转人工"), the group of the last thing the bot helped with here."""
    if conversation.customer.level == Customer.Level.VIP:
        return "vip"
    group = _group_of(decision.intent, decision.article or (decision.suggestions or [None])[0])
    if group:
        return group
    recent = (
        Message.objects.filter(conversation=conversation, sender=Message.Sender.BOT)
        .order_by("-seq")
        .values_list("meta", flat=True)[:10]
    )
    for meta in recent:
        group = _group_of((meta or {}).get("intent"), (meta or {}).get("article"))
        if group:
            return group
    return None


def _group_of(intent: str | None, article: str | None) -> str | None:
    group = assistant.intent_skill_group(intent) if intent else None
    return group or (assistant.article_category(article) if article else None)


def _self_service(conversation: Conversation, decision: Decision, meta: dict) -> Message:
    customer = conversation.customer
    intent, slots = decision.intent, decision.slots
    if intent == "greeting":
        return _greet(conversation, meta)
    if intent == "thanks_goodbye":
        return _say(conversation, goodbye_text(), meta)
    try:
        if intent == "order_status":
            order = shop.commerce().find_order(
                customer=customer, order_number=slots.get("order_number")
            )
            body = _describe_order(order)
        elif intent == "logistics_tracking":
            order = shop.commerce().find_order(
                customer=customer,
                order_number=slots.get("order_number"),
                tracking_number=slots.get("tracking_number"),
            )
            body = _describe_parcel(order)
        elif intent == "after_sales_request":
            request = shop.commerce().request_after_sales(
                customer=customer,
                order_number=slots["order_number"],
                reason=slots.get("reason", "other"),
            )
            kind = AFTER_SALES_KIND_TEXT.get(request.kind, lambda: request.kind)()
            template = (
                _(
                    "I've opened a %(kind)s request %(number)s for order %(order)s. Our after-sales team will contact you within one working day."
                )
                if request.created
                else _(
                    "There is already an open %(kind)s request %(number)s for order %(order)s; our team is on it."
                )
            )
            body = template % {
                "kind": kind,
                "number": request.number,
                "order": request.order_number,
            }
        elif intent == "coupon_claim":
            coupon = shop.commerce().claim_coupon(
                customer=customer, campaign="new-customer", language=conversation.language
            )
            values = {
                "title": coupon.title,
                "amount": coupon.amount.normalize(),
                "minimum": coupon.minimum_spend.normalize(),
                "expires": formats.date_format(coupon.expires_at, "SHORT_DATE_FORMAT"),
            }
            body = (
                _(
                    "Done! “%(title)s”: ¥%(amount)s off orders over ¥%(minimum)s, valid until %(expires)s. It's in Me > Coupons."
                )
                if coupon.created
                else _(
                    "You already have “%(title)s” (¥%(amount)s off over ¥%(minimum)s), valid until %(expires)s."
                )
            ) % values
        else:
            return _fallback(conversation, decision, meta, "")
    except shop.OrderNotFound:
        if not customer.is_identified:
            body = _(
                "To look at your orders I need to know it's you: please sign in to the Lumen Shop app or website and open the chat from there."
            )
        else:
            body = _(
                "I couldn't find that order on your account. Please check the number (LM followed by 8 digits)."
            )
        return _say(conversation, body, {**meta, "result": "not_found"})
    except shop.CommerceUnavailable:
        body = _(
            "Our order system isn't answering right now. Please try again in a few minutes, or tap “Talk to a person”."
        )
        return _say(conversation, body, {**meta, "result": "unavailable"})
    body += "\n\n" + _("Did this help?")
    return _say(conversation, body, {**meta, "result": "ok", "rating": True})


def _describe_order(order: shop.OrderInfo) -> str:
    status = ORDER_STATUS_TEXT.get(order.status, lambda: order.status)()
    body = _("Order %(number)s is %(status)s.") % {"number": order.number, "status": status}
    if order.status == Order.Status.SHIPPED and order.tracking_number:
        body += " " + _("Carrier: %(carrier)s, tracking number %(tracking)s.") % {
            "carrier": order.carrier or "—",
            "tracking": order.tracking_number,
        }
    return body


def _describe_parcel(order: shop.OrderInfo) -> str:
    if not order.tracking_number:
        return _(
            "Order %(number)s hasn't shipped yet; you'll get a message as soon as it does."
        ) % {"number": order.number}
    body = _("Parcel %(tracking)s (%(carrier)s) for order %(number)s:") % {
        "tracking": order.tracking_number,
        "carrier": order.carrier or "—",
        "number": order.number,
    }
    if order.events:
        latest = order.events[-1]
        body += " " + f"{latest.get('status', '')} · {latest.get('place', '')}".strip(" ·")
    if order.delivered_at:
        body += " " + _("Delivered on %(date)s.") % {
            "date": formats.date_format(order.delivered_at, "SHORT_DATE_FORMAT")
        }
    return body


def _greet(conversation: Conversation, meta: dict) -> Message:
    return _say(conversation, greeting_text(), meta)


def goodbye_text() -> str:
    return _("You're welcome! If anything else comes up, I'm here day and night.")


def slot_prompt(decision: Decision) -> str:
    return decision.prompt or _("Could you give me your order number (LM followed by 8 digits)?")


def greeting_text() -> str:
    return _(
        "Hello! I'm the Lumen Shop assistant. Ask me about orders, delivery, returns, warranty or coupons."
    )


def greet_known_customer(*, conversation: Conversation) -> Message | None:
    """A known customer opens the chat: offer what they most likely need, as quick replies.

    From their recent orders: the parcel on its way, the order not shipped yet,
    the open after-sales request.
    """
    customer = conversation.customer
    if not customer.is_identified:
        return None
    with override(django_language(conversation.language)):
        try:
            orders = shop.commerce().recent_orders(customer=customer, limit=3)
        except shop.CommerceUnavailable:
            orders = []
        replies = []
        for order in orders:
            if order.status == "shipped":
                replies.append(
                    _("Where is my parcel for order %(number)s?") % {"number": order.number}
                )
            elif order.status in ("paid", "pending"):
                replies.append(
                    _("What's the status of order %(number)s?") % {"number": order.number}
                )
        open_requests = customer.after_sales.filter(status="open").select_related("order")[:2]
        for request in open_requests:
            replies.append(
                _("How is my after-sales request %(number)s going?") % {"number": request.number}
            )
        name = customer.name or ""
        body = (
            _("Hello %(name)s! How can I help you today?") % {"name": name}
            if name
            else _("Hello! How can I help you today?")
        )
        meta = {
            "action": "answer",
            "intent": "greeting",
            "article": None,
            "confidence": 1.0,
            "slots": {},
            "quick_replies": replies[:4],
        }
        return post_bot_message(
            conversation_id=conversation.id, body=body, meta=meta, language=conversation.language
        )


def rate_bot_answer(*, conversation_id: UUID, seq: int, helpful: bool) -> bool:
    """The customer's one-tap rating of a self-service answer; once per answer."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(conversation_id=conversation_id, seq=seq, sender=Message.Sender.BOT)
            .first()
        )
        if message is None or not message.meta.get("rating") or "helpful" in message.meta:
            return False
        message.meta = {**message.meta, "helpful": helpful}
        message.save(update_fields=["meta"])
    return True
