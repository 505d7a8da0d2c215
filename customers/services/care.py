"""Care claims and points (docs/care.md): the records that make every outreach happen once.

An outreach is claimed (`claim_outreach`, or the planners' `INSERT … SELECT`) before
anything is sent: one row per campaign, customer and occasion, by a unique
constraint, so a retried task, a second worker or a second Beat adds nothing. The
conversations app sends what is due (conversations/services/care.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import override, pgettext

from customers.models import CareCampaign, Coupon, Customer, Order, Outreach

# A birthday greeting goes out from 09:00 on the customer's own day, in their timezone.
BIRTHDAY_HOUR = 9
# Orders that changed this long ago are still swept (a Beat that was down catches up).
ORDER_SWEEP_DAYS = 3


def enabled_campaign(kind: str) -> CareCampaign | None:
    return CareCampaign.objects.filter(kind=kind, enabled=True).first()


def claim_outreach(
    *,
    campaign: CareCampaign,
    customer_id: int,
    occasion: str,
    occurred_at: datetime,
    subject: str = "",
    conversation_id: UUID | None = None,
) -> int | None:
    """Claim this outreach: the new row's id, or None when it was claimed before.

    Due `campaign.delay_minutes` after `occurred_at`, given up `expire_hours` after it.
    Written in the caller's transaction: rolled back with it, nothing is left to send.
    """
    due = occurred_at + timedelta(minutes=campaign.delay_minutes)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO customers_outreach (campaign_id, customer_id, occasion, due_at,
                expires_at, status, channel, detail, subject, conversation_id, created_at)
            VALUES (%s, %s, %s, %s, %s, 'pending', '', '', %s, %s, now())
            ON CONFLICT ON CONSTRAINT outreach_once_per_occasion DO NOTHING
            RETURNING id
            """,
            [
                campaign.pk,
                customer_id,
                occasion,
                due,
                max(due, occurred_at + timedelta(hours=campaign.expire_hours)),
                subject,
                conversation_id,
            ],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def plan_birthdays(*, now: datetime | None = None) -> int:
    """Claim today's birthday greetings: every customer whose local date is their
    birthday (29 February on 28 February in other years) and whose local time is past
    09:00, once a year. One statement, whatever the number of customers; Beat runs it
    in UTC and each customer's date is their own. Returns how many were claimed."""
    campaign = enabled_campaign(CareCampaign.Kind.BIRTHDAY)
    if campaign is None:
        return 0
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH zones AS MATERIALIZED (SELECT name FROM pg_timezone_names),
            local AS (
                -- The zone's name from the list, never the row's own: a name PostgreSQL
                -- does not know skips that customer instead of failing the statement.
                SELECT c.id, c.birthday, (%(now)s::timestamptz AT TIME ZONE z.name) AS at
                FROM customers_customer c JOIN zones z ON z.name = c.timezone
                WHERE c.birthday IS NOT NULL AND NOT c.care_opt_out
                  AND c.birthday_md = ANY(%(days)s)
            )
            INSERT INTO customers_outreach (campaign_id, customer_id, occasion, due_at,
                expires_at, status, channel, detail, subject, conversation_id, created_at)
            SELECT %(campaign)s, l.id, 'birthday:' || extract(year FROM l.at)::int,
                   %(now)s, %(now)s + interval '1 hour' * %(expire)s,
                   'pending', '', '', '', NULL, now()
            FROM local l
            WHERE extract(hour FROM l.at) >= %(hour)s
              AND (to_char(l.birthday, 'MM-DD') = to_char(l.at, 'MM-DD')
                   OR (to_char(l.birthday, 'MM-DD') = '02-29'
                       AND to_char(l.at, 'MM-DD') = '02-28'
                       AND NOT (extract(year FROM l.at)::int %% 4 = 0
                                AND (extract(year FROM l.at)::int %% 100 <> 0
                                     OR extract(year FROM l.at)::int %% 400 = 0))))
            ON CONFLICT ON CONSTRAINT outreach_once_per_occasion DO NOTHING
            """,
            {
                "campaign": campaign.pk,
                "now": now,
                "expire": campaign.expire_hours,
                "hour": BIRTHDAY_HOUR,
                "days": _month_days(now),
            },
        )
        return cursor.rowcount


def _month_days(now: datetime) -> list[int]:
    """The UTC day and both neighbours as month × 100 + day (`Customer.birthday_md`):
    every timezone's local date is one of them. 28 February also stands for 29."""
    days = []
    for delta in (-1, 0, 1):
        day = (now + timedelta(days=delta)).date()
        days.append(day.month * 100 + day.day)
    if 228 in days:
        days.append(229)
    return days


def plan_order_reminders(*, now: datetime | None = None, order_number: str | None = None) -> int:
    """Claim the shipped and delivered reminders of orders that reached those states in
    the last ORDER_SWEEP_DAYS days (or of one order), once per order and state."""
    now = now or timezone.now()
    claimed = 0
    for kind, state, column in (
        (CareCampaign.Kind.ORDER_SHIPPED, "shipped", "shipped_at"),
        (CareCampaign.Kind.ORDER_DELIVERED, "delivered", "delivered_at"),
    ):
        campaign = enabled_campaign(kind)
        if campaign is None:
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO customers_outreach (campaign_id, customer_id, occasion, due_at,
                    expires_at, status, channel, detail, subject, conversation_id, created_at)
                SELECT %(campaign)s, o.customer_id, 'order:' || o.number || ':' || %(state)s,
                       o.{column} + interval '1 minute' * %(delay)s,
                       GREATEST(o.{column} + interval '1 minute' * %(delay)s,
                                o.{column} + interval '1 hour' * %(expire)s),
                       'pending', '', '', o.number, NULL, now()
                FROM customers_order o
                WHERE o.{column} IS NOT NULL AND o.{column} <= %(now)s
                  AND o.{column} > %(since)s
                  AND (%(number)s::text IS NULL OR o.number = %(number)s)
                ON CONFLICT ON CONSTRAINT outreach_once_per_occasion DO NOTHING
                """,  # noqa: S608 (the column is one of the two names above)
                {
                    "campaign": campaign.pk,
                    "state": state,
                    "delay": campaign.delay_minutes,
                    "expire": campaign.expire_hours,
                    "now": now,
                    "since": now - timedelta(days=ORDER_SWEEP_DAYS),
                    "number": order_number,
                },
            )
            claimed += cursor.rowcount
    return claimed


def grant_points(*, customer_id: int, points: int, reason: str, key: str) -> bool:
    """Add `points` to the customer's balance once per `key`; False when it was granted
    before. The entry and the balance change in one transaction."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO customers_pointsentry (customer_id, points, reason, key, created_at)
                VALUES (%s, %s, %s, %s, now())
                ON CONFLICT (key) DO NOTHING
                """,
                [customer_id, points, reason, key],
            )
            if cursor.rowcount == 0:
                return False
        Customer.objects.filter(pk=customer_id).update(points=F("points") + points)
    return True


def outreach_sent(outreach: Outreach, *, channel: str, conversation_id: UUID | None = None):
    outreach.status = Outreach.Status.SENT
    outreach.channel = channel
    outreach.sent_at = timezone.now()
    outreach.conversation_id = conversation_id or outreach.conversation_id
    outreach.save(update_fields=["status", "channel", "sent_at", "conversation_id"])


def render(
    campaign: CareCampaign,
    *,
    customer: Customer,
    language: str,
    order: Order | None = None,
    coupon: Coupon | None = None,
    level: str = "",
) -> str:
    """The campaign's message in `language` (zh-hans or en), its placeholders filled by
    plain replacement: a template can reach nothing but these values."""
    with override(language):
        name = customer.name or pgettext("a customer without a name", "there")
    values = {
        "name": name,
        "order": order.number if order else "",
        "carrier": order.carrier if order else "",
        "tracking": order.tracking_number if order else "",
        "coupon": coupon.code if coupon else "",
        "amount": f"{coupon.amount:f}".rstrip("0").rstrip(".") if coupon else "",
    }
    with override(language):
        values["level"] = str(Customer.Level(level).label) if level else ""
        values["benefits"] = str(Customer.LEVEL_BENEFITS.get(level, "")) if level else ""
    text = campaign.text_in(language)
    for placeholder, value in values.items():
        text = text.replace("{" + placeholder + "}", value)
    return text


def level_of(outreach: Outreach) -> str:
    """The level a membership-upgrade outreach congratulates on."""
    return outreach.subject if outreach.campaign.kind == CareCampaign.Kind.LEVEL_UP else ""


def order_of(outreach: Outreach) -> Order | None:
    """The order an order reminder is about."""
    if not outreach.occasion.startswith("order:"):
        return None
    return Order.objects.filter(number=outreach.subject, customer_id=outreach.customer_id).first()


def issue_coupon(outreach: Outreach) -> Coupon:
    """The outreach's coupon (a birthday's), issued once: a retry finds the first."""
    campaign = outreach.campaign
    coupon, _ = Coupon.objects.get_or_create(
        customer_id=outreach.customer_id,
        campaign=f"{campaign.kind}-{outreach.occasion}".replace(":", "-")[:60],
        defaults={
            "code": get_random_string(10, "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"),
            "title": campaign.get_kind_display(),
            "amount": campaign.coupon_amount,
            "expires_at": timezone.now() + timedelta(days=campaign.coupon_days),
        },
    )
    return coupon
