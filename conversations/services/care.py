"""Sending what the care campaigns claimed (docs/care.md), and the survey after a chat.

The claims are customers' (customers/services/care.py): one row per campaign,
customer and occasion. Here the due ones are sent, each exactly once:

- Into a conversation (the survey's own, or the customer's open chat): the
  message is written in the same transaction that marks the outreach sent, so
  a worker killed half-way leaves both undone and the next run sends it once.
- By email, when the customer has no open chat but an address: the outreach is
  marked "sending" and committed first, the email goes out after, then "sent".
  A worker killed between the two leaves it "sending": never sent twice, and
  admin shows the few that may not have gone (at most once, never twice).

Opt-out, quiet hours (local, in the customer's timezone) and a daily cap per
customer are respected; what waits too long (`expires_at`) is not sent at all.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from conversations import events
from conversations.models import Conversation, Message, Survey
from conversations.services.messages import post_system_message
from customers.models import CareCampaign, Customer, Outreach
from customers.services import care as claims
from helpdesk.languages import django_language
from helpdesk.realtime import publish_on_commit
from helpdesk.webhooks import emit

logger = logging.getLogger(__name__)

SEND_BATCH = 200
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

    try:
        send_outreach_task.apply_async((outreach_id,), countdown=countdown)
    except Exception:  # the broker is away: Beat's sweep sends it within a minute of due
        logger.warning("could not enqueue outreach %s; Beat will send it", outreach_id)


def send_due_outreach(*, now: datetime | None = None, only: int | None = None) -> int:
    """Send every claimed outreach that is due (or the one with id `only`), in batches
    of SEND_BATCH rows locked with SKIP LOCKED: two workers never take the same row.
    Returns how many were sent."""
    sent = 0
    while True:
        emails: list[tuple[int, str, str, str]] = []
        with transaction.atomic():
            now_at = now or timezone.now()
            rows = list(
                Outreach.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("campaign", "customer")
                .filter(status=Outreach.Status.PENDING, due_at__lte=now_at)
                .filter(**({"pk": only} if only is not None else {}))
                .order_by("due_at", "pk")[:SEND_BATCH]
            )
            for outreach in rows:
                outcome = _send_one(outreach, now_at)
                if outcome == "sent":
                    sent += 1
                elif isinstance(outcome, tuple):
                    emails.append(outcome)
        for outreach_id, address, subject, body in emails:
            sent += _send_email(outreach_id, address, subject, body)
        if len(rows) < SEND_BATCH or only is not None:
            return sent


def _send_one(outreach: Outreach, now: datetime):
    campaign, customer = outreach.campaign, outreach.customer
    if outreach.expires_at <= now:
        return _close(outreach, Outreach.Status.EXPIRED, "")
    if not campaign.enabled:
        return _close(outreach, Outreach.Status.SKIPPED, "campaign disabled")
    if customer.care_opt_out:
        return _close(outreach, Outreach.Status.SKIPPED, "customer opted out")
    if campaign.kind == CareCampaign.Kind.FOLLOW_UP and _settled_since(outreach):
        return _close(outreach, Outreach.Status.SKIPPED, "resolved in a later chat")
    later = _quiet_until(customer, now) or _capped_until(customer, now)
    if later is not None:
        outreach.due_at = later
        outreach.save(update_fields=["due_at"])
        return "deferred"
    language = django_language(customer.language)
    conversation = _conversation_for(outreach)
    if conversation is None and not customer.email:
        return _close(outreach, Outreach.Status.SKIPPED, "no open chat and no email")
    with override(language):
        coupon = claims.issue_coupon(outreach) if campaign.coupon_amount > 0 else None
        body = claims.render(
            campaign,
            customer=customer,
            language=language,
            order=claims.order_of(outreach),
            coupon=coupon,
            level=claims.level_of(outreach),
        )
        if conversation is not None:
            _post(outreach, conversation, body)
            claims.outreach_sent(outreach, channel="chat", conversation_id=conversation.pk)
            return "sent"
        outreach.status = Outreach.Status.SENDING
        outreach.channel = "email"
        outreach.save(update_fields=["status", "channel"])
        return (outreach.pk, customer.email, campaign.get_kind_display(), body)


def _close(outreach: Outreach, status: str, detail: str) -> str:
    outreach.status, outreach.detail = status, detail
    outreach.save(update_fields=["status", "detail"])
    return status


def _zone(customer: Customer) -> ZoneInfo:
    try:
        return ZoneInfo(customer.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def _quiet_until(customer: Customer, now: datetime) -> datetime | None:
    """The end of the customer's quiet hours when `now` falls in them (a window may span
    midnight, 22:00–08:00), else None."""
    start, end = customer.quiet_start, customer.quiet_end
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(_zone(customer))
    clock = local.time()
    inside = (start <= clock < end) if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=local.tzinfo)


def _capped_until(customer: Customer, now: datetime) -> datetime | None:
    """When the customer had CARE_DAILY_CAP messages in the last 24 hours: when the
    oldest of them is a day old."""
    cap = settings.CARE_DAILY_CAP
    recent = list(
        Outreach.objects.filter(
            customer=customer, status=Outreach.Status.SENT, sent_at__gt=now - timedelta(days=1)
        )
        .order_by("-sent_at")
        .values_list("sent_at", flat=True)[:cap]
    )
    if len(recent) < cap:
        return None
    return recent[-1] + timedelta(days=1)


def _settled_since(outreach: Outreach) -> bool:
    return Conversation.objects.filter(
        customer_id=outreach.customer_id,
        resolution=Conversation.Resolution.RESOLVED,
        closed_at__gt=outreach.created_at,
    ).exists()


def _conversation_for(outreach: Outreach) -> Conversation | None:
    """Where the customer reads it: their open chat, else (a survey) the conversation it
    is about, which they may still have open on the page."""
    open_chat = (
        Conversation.objects.filter(customer_id=outreach.customer_id)
        .exclude(status=Conversation.Status.CLOSED)
        .order_by("-created_at")
        .first()
    )
    if open_chat is not None or outreach.campaign.kind != CareCampaign.Kind.SURVEY:
        return open_chat
    return Conversation.objects.filter(pk=outreach.conversation_id).first()


def _post(outreach: Outreach, conversation: Conversation, body: str) -> None:
    meta = {"event": "care", "campaign": outreach.campaign.kind}
    survey = None
    if outreach.campaign.kind == CareCampaign.Kind.SURVEY:
        survey = Survey.objects.create(
            conversation_id=outreach.conversation_id,
            delivered_in=conversation,
            customer_id=outreach.customer_id,
            outreach=outreach,
            question=body[:500],
            reward_points=outreach.campaign.reward_points,
        )
        meta.update(event="survey", survey=str(survey.pk), scale=SURVEY_SCALE)
    post_system_message(conversation_id=conversation.pk, body=body, meta=meta)
    if survey is not None:
        publish_on_commit(
            events.conversation_group(conversation.pk), events.survey_event(survey_payload(survey))
        )


def _send_email(outreach_id: int, address: str, subject: str, body: str) -> int:
    try:
        send_mail(subject, body, None, [address])
    except Exception:  # the outreach stays "sending": at most once, shown in admin
        logger.exception("care email for outreach %s failed", outreach_id)
        Outreach.objects.filter(pk=outreach_id).update(detail="email failed")
        return 0
    Outreach.objects.filter(pk=outreach_id, status=Outreach.Status.SENDING).update(
        status=Outreach.Status.SENT, sent_at=timezone.now()
    )
    return 1


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
    """`survey.answered`'s data (the partner API's survey response)."""
    return {
        "id": str(survey.pk),
        "conversation": str(survey.conversation_id),
        "customer": survey.conversation.customer.external_id,
        "score": survey.score,
        "comment": survey.comment,
        "answered_at": survey.answered_at,
    }
