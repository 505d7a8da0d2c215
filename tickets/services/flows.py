"""Preset flows: a few steps the helpdesk takes on a ticket by itself.

"Refund status" (a macro or a rule action `refund_status`): the customer is told
where their refund stands, from the commerce adapter and their latest after-sales
request, in their language; the ticket waits on them with a confirmation request;
their next reply answers it. A reply that confirms ("是", "好的", "解决了", "yes",
"thanks, solved") resolves the ticket; any other reply leaves it with the agents.
Each step has its row in the timeline.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override, pgettext

from customers.commerce import CommerceUnavailable, OrderInfo, commerce
from customers.models import AfterSalesRequest, Customer, Order
from helpdesk.languages import django_language
from tickets.models import ConfirmationRequest, Ticket, TicketComment, TicketEvent
from tickets.services import tickets as writes
from tickets.services.automation import AutomationError, without_rules


class FlowError(AutomationError):
    """The flow has nothing to tell the customer, or the order system does not answer."""


# --- the customer's confirmation ----------------------------------------------------

MAX_CONFIRMATION = 60
# Said to agree although they hold a negation; read as a plain "yes" first.
AGREEING_NEGATIONS = ("没问题", "没事了", "没事", "不用了", "不错", "no problem", "no worries")
NOT_ZH = ("不", "没", "未", "别", "但", "可是", "还有", "想问", "怎么", "为什么", "吗", "?", "？")
YES_ZH = ("是", "好", "嗯", "可以", "收到", "解决", "谢谢", "感谢", "行", "对", "明白", "到账")
NOT_EN = re.compile(
    r"\b(no|not|nope|don'?t|didn'?t|haven'?t|hasn'?t|isn'?t|wasn'?t|still|but|yet|never"
    r"|can'?t|cannot|why|how|what|where|when)\b"
)
YES_EN = re.compile(
    r"\b(yes|yep|yeah|yup|ok|okay|thanks|thank you|thx|solved|resolved|fine|great|perfect"
    r"|got it|received|confirmed|sure)\b"
)


def is_confirmation(text: str) -> bool:
    """A short reply that agrees, in Chinese or English, and holds no negation, question
    or "but": "好的，谢谢" and "yes, solved" are; "没解决", "还没到账", "yes but when?" and a
    long explanation are not."""
    text = " ".join(text.split()).casefold()
    if not text or len(text) > MAX_CONFIRMATION:
        return False
    for phrase in AGREEING_NEGATIONS:
        text = text.replace(phrase, " 好 ")
    if any(word in text for word in NOT_ZH) or NOT_EN.search(text):
        return False
    return any(word in text for word in YES_ZH) or bool(YES_EN.search(text))


def reply_received(*, ticket: Ticket, comment: TicketComment) -> None:
    """Called by add_comment inside its transaction. A customer's reply answers the
    ticket's open confirmation request, if there is one: a confirmation resolves the
    ticket (a "flow" row, then the status change); anything else is recorded as not
    confirmed and the ticket stays open for the agents. The ticket object is brought up
    to date."""
    if not comment.from_customer:
        return
    request = (
        ConfirmationRequest.objects.select_for_update()
        .filter(ticket_id=ticket.pk, answered_at__isnull=True)
        .first()
    )
    if request is None:
        return
    request.confirmed = is_confirmation(comment.body)
    request.answered_at = timezone.now()
    request.save(update_fields=["confirmed", "answered_at"])
    TicketEvent.objects.create(
        ticket_id=ticket.pk,
        kind=TicketEvent.Kind.FLOW,
        field=request.flow,
        new="confirmed" if request.confirmed else "not_confirmed",
    )
    if request.confirmed:
        with without_rules():
            writes.change_ticket(ticket_id=ticket.pk, actor=None, status=Ticket.Status.RESOLVED)
        ticket.refresh_from_db()


# --- refund status ------------------------------------------------------------------


def ask_refund_status(*, ticket_id: int, actor) -> TicketComment:
    """Tell the customer where their refund stands (refund_status_reply) as a public
    reply by `actor`, put the ticket pending on the customer, and open a confirmation
    request (one that was still open is closed unanswered). All or nothing; its steps
    trigger no rules (a macro runs them once after). Raises FlowError when there is
    nothing to tell."""
    ticket = Ticket.objects.select_related("customer").get(pk=ticket_id)
    body = refund_status_reply(ticket)
    with transaction.atomic(), without_rules():
        ConfirmationRequest.objects.filter(ticket=ticket, answered_at__isnull=True).update(
            answered_at=timezone.now()
        )
        TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEvent.Kind.FLOW,
            actor=actor,
            field=ConfirmationRequest.Flow.REFUND_STATUS,
            new="awaiting",
        )
        writes.change_ticket(
            ticket_id=ticket.pk, actor=actor, status=Ticket.Status.PENDING_CUSTOMER
        )
        comment = writes.add_comment(ticket_id=ticket.pk, body=body, public=True, author=actor)
        ConfirmationRequest.objects.create(
            ticket=ticket, flow=ConfirmationRequest.Flow.REFUND_STATUS
        )
    return comment


def refund_status_reply(ticket: Ticket) -> str:
    """What the shop knows of the customer's refund, in the customer's language: their
    latest after-sales request, the state of its order (else of their latest order) as
    the commerce adapter reports it, and the question to confirm. FlowError (in the
    agent's language) when there is nothing to tell or the order system does not
    answer."""
    customer: Customer = ticket.customer
    try:
        orders = commerce().recent_orders(customer=customer, limit=5)
    except CommerceUnavailable:
        raise FlowError(
            _("The order system is not answering; try the refund status again in a moment.")
        ) from None
    request = (
        AfterSalesRequest.objects.filter(customer=customer)
        .select_related("order")
        .order_by("-created_at", "-pk")
        .first()
    )
    order = orders[0] if orders else None
    if request is not None:
        order = next((o for o in orders if o.number == request.order.number), None) or OrderInfo(
            number=request.order.number, status=request.order.status, total=request.order.total
        )
    if order is None:
        raise FlowError(
            _("%(customer)s has no orders or after-sales requests to report on.")
            % {"customer": customer.display_name}
        )
    with override(django_language(customer.language)):
        lines = [
            _("Hello %(customer)s, here is where your refund stands (ticket %(number)s):")
            % {"customer": customer.display_name, "number": ticket.number}
        ]
        if request is not None:
            lines.append(
                _("Your %(kind)s request %(request)s for order %(order)s: %(state)s.")
                % {
                    "kind": _after_sales_kind(request.kind),
                    "request": request.number,
                    "order": request.order.number,
                    "state": _after_sales_state(request.status),
                }
            )
        lines.append(_order_state(order))
        if request is None and order.status not in (Order.Status.RETURNED, Order.Status.CANCELLED):
            lines.append(_("There is no return or refund request on it yet."))
        lines.append(
            _(
                "Does this settle your question? Reply “yes” and we will close the ticket; "
                "otherwise tell us what is still missing."
            )
        )
        return "\n".join(lines)


def _after_sales_kind(kind: str) -> str:
    return {
        AfterSalesRequest.Kind.RETURN: pgettext("after-sales kind", "return"),
        AfterSalesRequest.Kind.EXCHANGE: pgettext("after-sales kind", "exchange"),
        AfterSalesRequest.Kind.REPAIR: pgettext("after-sales kind", "repair"),
    }.get(kind, kind)


def _after_sales_state(status: str) -> str:
    return {
        AfterSalesRequest.Status.OPEN: _("we are reviewing it"),
        AfterSalesRequest.Status.APPROVED: _("approved, the refund is on its way"),
        AfterSalesRequest.Status.REJECTED: _("not approved"),
        AfterSalesRequest.Status.DONE: _("completed, the refund has been made"),
    }.get(status, status)


def _order_state(order: OrderInfo) -> str:
    values = {"order": order.number, "total": f"¥{order.total}"}
    if order.status == Order.Status.RETURNED:
        return (
            _("Order %(order)s has been returned; %(total)s is refunded to the original payment.")
            % values
        )
    if order.status == Order.Status.CANCELLED:
        return (
            _("Order %(order)s was cancelled; %(total)s is refunded to the original payment.")
            % values
        )
    labels = dict(Order.Status.choices)
    return _("Order %(order)s: %(status)s.") % {
        **values,
        "status": labels.get(order.status, order.status),
    }
