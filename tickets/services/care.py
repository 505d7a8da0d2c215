"""Care campaigns about tickets (docs/care.md): the follow-up of a ticket still open a day
after it was opened or reopened, and the VIP revisit, which is a ticket for the VIP's
dedicated agent. The conversations app sends what is due and calls these through the
hooks TicketsConfig registers (conversations/hooks.py)."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.translation import override

from conversations.models import DedicatedAgent, SkillGroup
from customers.models import CareCampaign, Customer, Outreach
from customers.services import care as claims
from helpdesk.languages import django_language
from tickets.defaults import INTERNAL_TYPES
from tickets.models import Ticket, TicketType

FOLLOW_UP_PREFIX = "ticket:"


def plan_follow_up(ticket: Ticket, *, reopened: bool = False) -> int | None:
    """Claim the follow-up of a ticket just opened (or reopened), in the transaction
    that opens it: due `delay_minutes` (a day) later, once per ticket and occasion, and
    not sent if the ticket is resolved by then. None for the shop's own tickets (a VIP
    revisit), and for a ticket opened from a chat whose own follow-up is claimed."""
    campaign = claims.enabled_campaign(CareCampaign.Kind.TICKET_FOLLOW_UP)
    if campaign is None or ticket.type.code in INTERNAL_TYPES:
        return None
    now = timezone.now()
    if not reopened:
        chats = [str(pk) for pk in ticket.conversations.values_list("pk", flat=True)]
        if (
            chats
            and Outreach.objects.filter(
                customer_id=ticket.customer_id,
                occasion__in=[f"follow_up:conversation:{pk}" for pk in chats],
            ).exists()
        ):
            return None
    occasion = f"{FOLLOW_UP_PREFIX}{ticket.pk}:" + (
        f"reopened:{now:%Y%m%dT%H%M%S}" if reopened else "opened"
    )
    return claims.claim_outreach(
        campaign=campaign,
        customer_id=ticket.customer_id,
        occasion=occasion,
        occurred_at=now,
        subject=ticket.number,
    )


def resolved_tickets(*, due: list, campaigns: dict) -> dict[int, str]:
    """The outreach-due hook: ticket follow-ups whose ticket was resolved or closed since
    (or is gone) are not sent. One query for the batch."""
    follow_ups: dict[int, int] = {}
    for row in due:
        if campaigns[row.campaign_id].kind != CareCampaign.Kind.TICKET_FOLLOW_UP:
            continue
        number = row.occasion.removeprefix(FOLLOW_UP_PREFIX).split(":", 1)[0]
        follow_ups[row.id] = int(number) if number.isdecimal() else 0
    if not follow_ups:
        return {}
    status = dict(
        Ticket.objects.filter(pk__in=set(follow_ups.values())).values_list("pk", "status")
    )
    reasons = {}
    for outreach_id, ticket_id in follow_ups.items():
        if ticket_id not in status:
            reasons[outreach_id] = "ticket gone"
        elif status[ticket_id] in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED):
            reasons[outreach_id] = "ticket resolved meanwhile"
    return reasons


def open_vip_revisit(*, outreach, campaign: CareCampaign) -> str | None:
    """The desk-outreach hook for a VIP revisit: a "VIP revisit" ticket for the customer,
    assigned to their dedicated agent (who is told), due as the SLA policy says for its
    priority; without a dedicated agent it goes to the type's group (the VIP group) and
    its next agent. In the sender's transaction: the outreach is marked sent with it, so
    the ticket is made once per period. Returns the ticket's number and where it went."""
    from tickets.services.tickets import open_ticket

    if campaign.kind != CareCampaign.Kind.VIP_REVISIT:
        return None
    customer = Customer.objects.get(pk=outreach.customer_id)
    dedicated = (
        DedicatedAgent.objects.select_related("agent__user")
        .filter(customer_id=customer.pk, agent__user__is_active=True)
        .first()
    )
    language = django_language(settings.LANGUAGE_CODE[:2])
    values = claims.placeholder_values(language=language, name=customer.display_name)
    with override(language):
        subject = claims.one_line(
            claims.fill(claims.compiled(campaign.subject_in(language)), values)
        )
        description = claims.fill(claims.compiled(campaign.text_in(language)), values)
    # The type's group when admin gave it one; else the group VIP chats go to (the bot's
    # "vip"), which an installation gets from its demo data after the type's migration ran.
    group = None
    if not TicketType.objects.filter(code="vip_revisit", skill_group__isnull=False).exists():
        group = SkillGroup.objects.filter(code="vip").first()
    ticket = open_ticket(
        customer=customer,
        subject=subject or str(campaign),
        description=description,
        type_code="vip_revisit",
        source=Ticket.Source.AGENT,
        assignee=dedicated.agent if dedicated else None,
        skill_group=group,
        tags=["vip_revisit"],
    )
    if dedicated:
        return f"{ticket.number} → {dedicated.agent.display_name}"
    group = ticket.skill_group.code if ticket.skill_group else "-"
    return f"{ticket.number} → group {group} (no dedicated agent)"
