"""Sending what the care campaigns claimed (docs/care.md), and the survey after a chat.

The claims are customers' (customers/services/care.py): one row per campaign,
customer and occasion. Here the due ones are sent, a batch at a time with a fixed
number of queries per batch (a million birthdays at 09:00), each exactly once:

- Into a conversation (the survey's own, or the customer's open chat): the
  message is written in the same transaction that marks the outreach sent, so
  a worker killed half-way leaves both undone and the next run sends it once.
- By email, when the customer has no open chat but an address: the outreach is
  marked "sending" and committed first, the email goes out after, then "sent".
  A worker killed between the two leaves it "sending": never sent twice, and
  admin shows the few that may not have gone (at most once, never twice).

- As work for an agent (a VIP revisit): made in the desk by the tickets app's hook,
  in the batch's transaction.

Opt-out, quiet hours (local, in the customer's timezone) and a daily cap per
customer are respected; what waits too long (`expires_at`) is not sent at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from conversations import events, hooks
from conversations.models import Conversation, Message, Survey
from conversations.services.messages import post_system_message
from customers.models import CareCampaign, Customer, Outreach
from customers.services import care as claims
from helpdesk.languages import django_language
from helpdesk.realtime import publish_on_commit
from helpdesk.webhooks import emit

logger = logging.getLogger(__name__)

# Why an outreach was not sent to a customer the sender could not reach at all.
UNREACHABLE = "no open chat, no relayed channel and no email"
# A batch the mail server could not even be reached for is tried again this much later.
MAIL_RETRY = timedelta(minutes=5)
SURVEY_SCALE = 5
MAX_COMMENT = 1000


class SurveyNotFound(Exception):
    """No such survey in this conversation."""


class SurveyAnswered(Exception):
    """The survey was answered before: the first answer stands."""


def plan_after_close(conversation: Conversation) -> None:
    """What a conversation that just closed asks for (in close_conversation's
    transaction): its survey, and a follow-up when it was left unresolved."""
    if conversation.resolution == Conversation.Resolution.SPAM:
        return
    plan_survey(conversation)
    if conversation.resolution == Conversation.Resolution.NOT_RESOLVED:
        plan_follow_up(conversation)


def plan_follow_up(conversation: Conversation) -> int | None:
    """Claim the follow-up of an unresolved conversation: `delay_minutes` (a day) later,
    unless the customer's problem was settled in a chat since."""
    campaign = claims.enabled_campaign(CareCampaign.Kind.FOLLOW_UP)
    if campaign is None:
        return None
    return claims.claim_outreach(
        campaign=campaign,
        customer_id=conversation.customer_id,
        occasion=f"follow_up:conversation:{conversation.pk}",
        occurred_at=conversation.closed_at or timezone.now(),
        subject=str(conversation.pk),
        conversation_id=conversation.pk,
    )


def plan_survey(conversation: Conversation) -> int | None:
    """Claim the survey of a conversation that just closed (in close_conversation's
    transaction), when the customer said something in it. Sent `delay_minutes` later
    by `send_due_outreach`; an enqueued task makes it timely, Beat makes it sure."""
    campaign = claims.enabled_campaign(CareCampaign.Kind.SURVEY)
    if campaign is None:
        return None
    if not Message.objects.filter(
        conversation_id=conversation.pk, sender=Message.Sender.CUSTOMER
    ).exists():
        return None
    outreach_id = claims.claim_outreach(
        campaign=campaign,
        customer_id=conversation.customer_id,
        occasion=f"conversation:{conversation.pk}",
        occurred_at=conversation.closed_at or timezone.now(),
        subject=str(conversation.pk),
        conversation_id=conversation.pk,
    )
    if outreach_id is not None:
        transaction.on_commit(lambda: _enqueue(outreach_id, campaign.delay_minutes * 60))
    return outreach_id


def _enqueue(outreach_id: int, countdown: int) -> None:
    from conversations.tasks import send_outreach_task

    _send_later(send_outreach_task, (outreach_id,), countdown=countdown)


def send_due_soon() -> None:
    """A planner claimed outreach that is due now (customers.hooks.outreach_claimed, on
    the commit of each chunk of today's birthdays): a worker starts sending it at once,
    side by side with the planner, instead of at Beat's next sweep."""
    from conversations.tasks import send_due_outreach_task

    _send_later(send_due_outreach_task, ())


def _send_later(task, args: tuple, *, countdown: int = 0) -> None:
    try:
        task.apply_async(args, countdown=countdown)
    except Exception:  # the broker is away: Beat's sweep sends it within a minute of due
        logger.warning("could not enqueue %s%s; Beat will send it", task.name, args)


def send_due_outreach(*, now: datetime | None = None, only: int | None = None) -> int:
    """Send every claimed outreach that is due (or the one with id `only`), a batch of
    CARE_SEND_BATCH rows at a time, each batch set-based: taken with SKIP LOCKED (two
    workers never take the same row), its customers held while their daily cap is
    counted in one query, its coupons issued in one INSERT, its texts filled from
    templates compiled once per language, its outcomes recorded in one UPDATE; its
    emails then go out over one connection and are confirmed in one UPDATE.
    Returns how many were sent (in a chat, by email, or as work in the desk)."""
    sent = 0
    size = settings.CARE_SEND_BATCH
    while True:
        with transaction.atomic():
            now_at = now or timezone.now()
            due = claims.take_due(now=now_at, limit=size, only=only)
            emails, delivered = _send_batch(due, now_at) if due else ([], 0)
        sent += delivered + _send_emails(emails, now_at)
        if len(due) < size or only is not None:
            return sent


@dataclass(slots=True)
class _Email:
    outreach_id: int
    address: str
    subject: str
    body: str


def _send_batch(due: list[claims.DueOutreach], now: datetime) -> tuple[list[_Email], int]:
    """Decide and record every row of a locked batch, in the caller's transaction: chat
    messages and desk work are written here with the rows marked sent; emails are
    marked "being sent" and returned, to go out after the commit."""
    campaigns = {campaign.pk: campaign for campaign in CareCampaign.objects.all()}
    customer_ids = {row.customer_id for row in due}
    claims.lock_customers(customer_ids)
    skip = {**_settled_since(due, campaigns), **hooks.outreach_due(due=due, campaigns=campaigns)}
    recent = claims.recent_sends(customer_ids, now=now)
    chats = _chats(customer_ids)
    surveyed = _surveyed_chats(due, campaigns, chats.channel)
    cap = settings.CARE_DAILY_CAP
    outcomes: list[claims.Outcome] = []
    to_send: list[tuple[claims.DueOutreach, CareCampaign, UUID | None]] = []
    desk: list[tuple[claims.DueOutreach, CareCampaign]] = []
    for row in due:
        campaign = campaigns[row.campaign_id]
        reason = _skip_reason(row, campaign, skip)
        if row.expires_at <= now:
            outcomes.append(claims.Outcome(row.id, Outreach.Status.EXPIRED))
        elif reason:
            outcomes.append(claims.Outcome(row.id, Outreach.Status.SKIPPED, detail=reason))
        elif campaign.kind in CareCampaign.AGENT_KINDS:
            desk.append((row, campaign))
        else:
            sends = recent.setdefault(row.customer_id, [])
            later = _quiet_until(row, now) or (
                sends[cap - 1] + timedelta(days=1) if len(sends) >= cap > 0 else None
            )
            conversation_id = (
                chats.open.get(row.customer_id)
                or surveyed.get(row.id)
                or chats.relayed.get(row.customer_id)
            )
            if later is not None:
                outcomes.append(claims.Outcome(row.id, Outreach.Status.PENDING, due_at=later))
            elif conversation_id is None and not row.email:
                outcomes.append(claims.Outcome(row.id, Outreach.Status.SKIPPED, detail=UNREACHABLE))
            else:
                to_send.append((row, campaign, conversation_id))
                sends.insert(0, now)
    emails = _write(to_send, now, outcomes, chats.channel)
    for row, campaign in desk:
        made = hooks.desk_outreach(outreach=row, campaign=campaign)
        outcomes.append(
            claims.Outcome(row.id, Outreach.Status.SENT, "desk", made, sent_at=now)
            if made
            else claims.Outcome(row.id, Outreach.Status.SKIPPED, detail="nothing in the desk")
        )
    claims.record_outcomes(outcomes)
    delivered = sum(1 for o in outcomes if o.status == Outreach.Status.SENT)
    return emails, delivered


def _skip_reason(row: claims.DueOutreach, campaign: CareCampaign, skip: dict[int, str]) -> str:
    if not campaign.enabled:
        return "campaign disabled"
    if row.opted_out:
        return "customer opted out"
    if campaign.kind == CareCampaign.Kind.VIP_REVISIT and row.level != Customer.Level.VIP:
        return "no longer VIP"
    return skip.get(row.id, "")


def _write(
    to_send: list[tuple[claims.DueOutreach, CareCampaign, UUID | None]],
    now: datetime,
    outcomes: list[claims.Outcome],
    channels: dict[UUID, str],
) -> list[_Email]:
    """Fill the texts of what is sent (coupons and orders fetched for all at once),
    post those going into a conversation (its channel, when a partner relays it, is the
    outcome's detail), and return the emails."""
    coupons = claims.issue_coupons(
        [
            (row.customer_id, campaign, row.occasion)
            for row, campaign, _c in to_send
            if campaign.coupon_amount > 0
        ],
        now=now,
    )
    orders = claims.orders_of(
        (row.customer_id, row.subject)
        for row, _campaign, _c in to_send
        if row.occasion.startswith("order:")
    )
    emails: list[_Email] = []
    for row, campaign, conversation_id in to_send:
        language = django_language(row.language)
        values = claims.placeholder_values(
            language=language,
            name=row.name,
            order=orders.get((row.customer_id, row.subject)),
            coupon=coupons.get((row.customer_id, claims.coupon_campaign(campaign, row.occasion))),
            level=row.subject if campaign.kind == CareCampaign.Kind.LEVEL_UP else "",
            ticket=row.subject if campaign.kind == CareCampaign.Kind.TICKET_FOLLOW_UP else "",
        )
        body = claims.fill(claims.compiled(campaign.text_in(language)), values)
        if conversation_id is not None:
            with override(language):
                _post(row, campaign, conversation_id, body)
            channel = channels.get(conversation_id, Conversation.Channel.WEB)
            outcomes.append(
                claims.Outcome(
                    row.id,
                    Outreach.Status.SENT,
                    "chat",
                    detail="" if channel == Conversation.Channel.WEB else f"through {channel}",
                    sent_at=now,
                    conversation_id=conversation_id,
                )
            )
            continue
        subject = claims.one_line(
            claims.fill(claims.compiled(campaign.subject_in(language)), values)
        )
        emails.append(_Email(row.id, row.email, subject or str(campaign), body))
        # Committed before the email goes out, and counted in the daily cap from now on.
        outcomes.append(claims.Outcome(row.id, Outreach.Status.SENDING, "email", sent_at=now))
    return emails


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def _quiet_until(row: claims.DueOutreach, now: datetime) -> datetime | None:
    """The end of the customer's quiet hours when `now` falls in them (a window may span
    midnight, 22:00–08:00), else None."""
    start, end = row.quiet_start, row.quiet_end
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(_zone(row.timezone))
    clock = local.time()
    inside = (start <= clock < end) if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=local.tzinfo)


def _settled_since(due: list[claims.DueOutreach], campaigns: dict) -> dict[int, str]:
    """Follow-ups of chats whose customer had a problem resolved in a later chat since
    the follow-up was claimed: one query for the batch."""
    follow_ups = [
        row for row in due if campaigns[row.campaign_id].kind == CareCampaign.Kind.FOLLOW_UP
    ]
    if not follow_ups:
        return {}
    last_resolved = dict(
        Conversation.objects.filter(
            customer_id__in={row.customer_id for row in follow_ups},
            resolution=Conversation.Resolution.RESOLVED,
            closed_at__gt=min(row.created_at for row in follow_ups),
        )
        .values("customer_id")
        .annotate(last=Max("closed_at"))
        .values_list("customer_id", "last")
    )
    return {
        row.id: "resolved in a later chat"
        for row in follow_ups
        if last_resolved.get(row.customer_id) and last_resolved[row.customer_id] > row.created_at
    }


# Channels a partner relays (POST /api/v1/inbound/messages/, the `message.created`
# webhook): a care message posted into such a conversation, even a closed one, leaves
# through the partner to the customer's app, WeChat, mini-program or phone.
RELAYED_CHANNELS = (
    Conversation.Channel.APP,
    Conversation.Channel.WECHAT,
    Conversation.Channel.MINIPROGRAM,
    Conversation.Channel.SMS,
)


@dataclass(slots=True)
class _Chats:
    """Where the batch's customers can be reached in a conversation: their latest open
    one (any channel), and their latest closed one on a relayed channel."""

    open: dict[int, UUID]
    relayed: dict[int, UUID]
    channel: dict[UUID, str]


def _chats(customer_ids) -> _Chats:
    """Each customer's latest open conversation (where they read a message now) and
    latest closed conversation on a relayed channel: one query for the batch."""
    chats = _Chats({}, {}, {})
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT ON (customer_id, status <> %(closed)s)
                   customer_id, id, channel, status <> %(closed)s
            FROM conversations_conversation
            WHERE customer_id = ANY(%(customers)s::bigint[])
              AND (status <> %(closed)s OR channel = ANY(%(relayed)s))
            ORDER BY customer_id, status <> %(closed)s, created_at DESC
            """,
            {
                "customers": claims.int_array(customer_ids),
                "closed": Conversation.Status.CLOSED.value,
                "relayed": [channel.value for channel in RELAYED_CHANNELS],
            },
        )
        for customer_id, conversation_id, channel, is_open in cursor:
            (chats.open if is_open else chats.relayed)[customer_id] = conversation_id
            chats.channel[conversation_id] = channel
    return chats


def _surveyed_chats(
    due: list[claims.DueOutreach], campaigns: dict, channels: dict[UUID, str]
) -> dict[int, UUID]:
    """A survey's own conversation (the customer may still have it open on the page, or
    read it on the channel a partner relays), for the surveys of the batch whose
    conversation is still there; their channels are added to `channels`."""
    surveys = {
        row.id: row.conversation_id
        for row in due
        if campaigns[row.campaign_id].kind == CareCampaign.Kind.SURVEY and row.conversation_id
    }
    if not surveys:
        return {}
    channels.update(
        Conversation.objects.filter(pk__in=set(surveys.values())).values_list("pk", "channel")
    )
    return {row_id: pk for row_id, pk in surveys.items() if pk in channels}


def _post(
    row: claims.DueOutreach, campaign: CareCampaign, conversation_id: UUID, body: str
) -> None:
    meta = {"event": "care", "campaign": campaign.kind}
    survey = None
    if campaign.kind == CareCampaign.Kind.SURVEY:
        survey = Survey.objects.create(
            conversation_id=row.conversation_id,
            delivered_in_id=conversation_id,
            customer_id=row.customer_id,
            outreach_id=row.id,
            question=body[:500],
            reward_points=campaign.reward_points,
        )
        meta.update(event="survey", survey=str(survey.pk), scale=SURVEY_SCALE)
    post_system_message(conversation_id=conversation_id, body=body, meta=meta)
    if survey is not None:
        publish_on_commit(
            events.conversation_group(conversation_id), events.survey_event(survey_payload(survey))
        )


def _send_emails(emails: list[_Email], now: datetime) -> int:
    """The batch's emails over one connection of the mail backend, each handed to its
    `send_messages`, then confirmed in one UPDATE. What the backend refused stays "being
    sent" (it may have gone: never tried again); when the connection cannot even be
    opened nothing went out, and the batch waits for the next run."""
    if not emails:
        return 0
    mail = get_connection()
    try:
        mail.open()
    except Exception:
        logger.exception("care emails: the mail backend could not be reached")
        claims.release_unsent(
            [email.outreach_id for email in emails],
            due_at=now + MAIL_RETRY,
            detail="mail server unreachable",
        )
        return 0
    sent: list[int] = []
    failed: list[int] = []
    try:
        for email in emails:
            message = EmailMessage(
                email.subject,
                email.body,
                to=[email.address],
                headers={"X-Lumen-Outreach": str(email.outreach_id)},
                connection=mail,
            )
            try:
                went = mail.send_messages([message])
            except Exception:
                logger.exception("care email for outreach %s failed", email.outreach_id)
                went = 0
            (sent if went else failed).append(email.outreach_id)
    finally:
        mail.close()
    claims.confirm_emails(sent=sent, failed=failed)
    return len(sent)


def survey_payload(survey: Survey) -> dict:
    return {"survey": str(survey.pk), "question": survey.question, "scale": SURVEY_SCALE}


def open_surveys(conversation: Conversation) -> list[dict]:
    """The customer's surveys still to answer, asked in this conversation or in one that
    has closed since (the chat page starts a new conversation then), for a day: sent
    again to a socket that connects."""
    since = timezone.now() - timedelta(days=1)
    surveys = (
        Survey.objects.filter(
            customer_id=conversation.customer_id, answered_at__isnull=True, created_at__gt=since
        )
        .filter(Q(delivered_in=conversation) | Q(delivered_in__status=Conversation.Status.CLOSED))
        .order_by("created_at")
    )
    return [survey_payload(survey) for survey in surveys]


def answer_survey(
    *, conversation_id: UUID, survey_id: UUID, score: int, comment: str = ""
) -> Survey:
    """The customer's answer, from a socket of `conversation_id`, once: the reward points
    granted once, `survey.answered` emitted, a thank-you in the chat. SurveyNotFound for
    another customer's survey, SurveyAnswered for a second answer (the first stands)."""
    with transaction.atomic():
        conversation = Conversation.objects.get(pk=conversation_id)
        survey = (
            Survey.objects.select_for_update(of=("self",))
            .select_related("conversation__customer")
            .filter(pk=survey_id, customer_id=conversation.customer_id)
            .first()
        )
        if survey is None:
            raise SurveyNotFound
        if survey.answered_at is not None:
            raise SurveyAnswered
        survey.score, survey.comment, survey.answered_at = score, comment, timezone.now()
        survey.save(update_fields=["score", "comment", "answered_at"])
        if survey.reward_points:
            claims.grant_points(
                customer_id=survey.customer_id,
                points=survey.reward_points,
                reason="survey",
                key=f"survey:{survey.pk}",
            )
        emit("survey.answered", survey_event_data(survey))
        with override(django_language(conversation.language)):
            if survey.reward_points:
                thanks = _("Thank you for your rating! %(points)s points have been added.") % {
                    "points": survey.reward_points
                }
            else:
                thanks = _("Thank you for your rating!")
        post_system_message(
            conversation_id=conversation_id,
            body=thanks,
            meta={"event": "survey_answered", "survey": str(survey.pk), "score": score},
        )
    return survey


def survey_event_data(survey: Survey) -> dict:
    """`survey.answered`'s data: the partner API's survey response (GET
    /api/v1/surveys/responses/), so the event and the list carry the same object."""
    from conversations.api_partner import SurveyResponseSerializer  # it imports no service

    return dict(SurveyResponseSerializer(survey).data)
