"""Care claims and points (docs/care.md): the records that make every outreach happen once.

An outreach is claimed (`claim_outreach`, or the planners' `INSERT … SELECT`) before
anything is sent: one row per campaign, customer and occasion, by a unique
constraint, so a retried task, a second worker or a second Beat adds nothing. The
conversations app sends what is due (conversations/services/care.py) a batch at a
time, with the set-based steps below: take a batch (SKIP LOCKED), lock its customers,
count their recent sends, issue its coupons, record every row's outcome — each one
statement for the whole batch.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import override, pgettext

from customers import hooks
from customers.models import CareCampaign, Coupon, Customer, Order, Outreach
from helpdesk.db import native_timestamps

# A birthday greeting goes out from 09:00 on the customer's own day, in their timezone.
BIRTHDAY_HOUR = 9
# Orders that changed this long ago are still swept (a Beat that was down catches up).
ORDER_SWEEP_DAYS = 3
# A planner that claims this many rows or more refreshes the outreach table's statistics.
ANALYZE_AFTER_CLAIMS = 10_000
# The birthday planner commits its claims this many customers at a time.
BIRTHDAY_CLAIM_CHUNK = 50_000


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
    09:00, once a year. Beat runs it in UTC and each customer's date is their own.

    Claimed in chunks of about BIRTHDAY_CLAIM_CHUNK customers (ranges of ids, read
    along the `customer_birthday_id` index), each committed on its own: the sender
    starts on the first chunk (`hooks.outreach_claimed`, on commit) while the planner
    claims the next, so a million greetings are claimed and sent side by side. A planner
    stopped half-way leaves its committed chunks claimed, and the next run claims the
    rest; a second planner at the same time claims nothing twice (the unique claim).
    Returns how many were claimed."""
    campaign = enabled_campaign(CareCampaign.Kind.BIRTHDAY)
    if campaign is None:
        return 0
    now = now or timezone.now()
    days = _month_days(now)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), min(id), max(id) FROM customers_customer "
            "WHERE birthday IS NOT NULL AND birthday_md = ANY(%s)",
            [days],
        )
        born, low, high = cursor.fetchone()
    if not born:
        return 0
    width = (high - low) // math.ceil(born / BIRTHDAY_CLAIM_CHUNK) + 1  # ids per range
    claimed = 0
    analyzed = False
    for after in range(low - 1, high, width):
        with transaction.atomic(), connection.cursor() as cursor:
            _claim_birthdays(
                cursor, campaign=campaign, now=now, days=days, ids=(after, after + width)
            )
            chunk = _claimed(cursor, analyze=not analyzed)
        claimed += chunk
        analyzed = analyzed or chunk >= ANALYZE_AFTER_CLAIMS
    return claimed


def _claim_birthdays(
    cursor, *, campaign: CareCampaign, now: datetime, days: list[int], ids: tuple[int, int]
) -> None:
    """One chunk's claims: the customers with ids in (after, upto] born on one of `days`
    whose local date is their birthday (or 28 February for 29 February in other years)
    and whose local time is 09:00 or later."""
    cursor.execute(
        """
        -- Each zone's local time, once per zone (not per customer), where it is
        -- 09:00 or later. A customer's zone is taken from this list, never the
        -- row's own name: a name PostgreSQL does not know skips that customer
        -- instead of failing the statement.
        WITH local AS (
            SELECT name, at, (extract(month FROM at) * 100 + extract(day FROM at))::int AS md,
                   extract(year FROM at)::int AS year
            FROM (SELECT name, (%(now)s::timestamptz AT TIME ZONE name) AS at
                  FROM pg_timezone_names) zone
            WHERE extract(hour FROM at) >= %(hour)s
        ),
        zones AS MATERIALIZED (
            SELECT name, md, year,
                   (year %% 4 = 0 AND (year %% 100 <> 0 OR year %% 400 = 0)) AS leap
            FROM local
        )
        INSERT INTO customers_outreach (campaign_id, customer_id, occasion, due_at,
            expires_at, status, channel, detail, subject, conversation_id, created_at)
        SELECT %(campaign)s, c.id, 'birthday:' || z.year,
               %(now)s, %(now)s + interval '1 hour' * %(expire)s,
               'pending', '', '', '', NULL, now()
        FROM customers_customer c JOIN zones z ON z.name = c.timezone
        WHERE c.birthday IS NOT NULL AND NOT c.care_opt_out
          AND c.birthday_md = ANY(%(days)s) AND c.id > %(after)s AND c.id <= %(upto)s
          AND (c.birthday_md = z.md
               OR (c.birthday_md = 229 AND z.md = 228 AND NOT z.leap))
        ON CONFLICT ON CONSTRAINT outreach_once_per_occasion DO NOTHING
        """,
        {
            "campaign": campaign.pk,
            "now": now,
            "expire": campaign.expire_hours,
            "hour": BIRTHDAY_HOUR,
            "days": days,
            "after": ids[0],
            "upto": ids[1],
        },
    )


def _claimed(cursor, *, analyze: bool = True, due_now: bool = True) -> int:
    """How many rows the planner's INSERT just claimed. After a large claim (a chunk of
    a million birthdays at 09:00) the outreach table's statistics are refreshed in the
    same transaction: the sender's queue read (`take_due`) is planned from them, and
    planned from a table that looked empty it sorts every pending row for each batch of
    a thousand (1.3 s a batch at a million). Autovacuum would analyze the table later —
    or never, where it is turned off. Claims that are due at once tell the sender on
    commit (`hooks.outreach_claimed`)."""
    claimed = cursor.rowcount
    if analyze and claimed >= ANALYZE_AFTER_CLAIMS:
        cursor.execute("ANALYZE customers_outreach")
    if claimed > 0 and due_now:
        transaction.on_commit(hooks.outreach_claimed)
    return claimed


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
            claimed += _claimed(cursor, due_now=False)  # the sweep sends them when due
    return claimed


def plan_vip_revisits(*, now: datetime | None = None) -> int:
    """Claim the VIP revisits due: one per VIP customer (not opted out) in each period of
    the campaign's `every_days` days of their local calendar. The periods are staggered
    by the customer's id, so an agent's VIPs do not all fall due on one day. A second
    Beat, a retry or a run in another hour of the same period adds nothing (the occasion
    names the period). Returns how many were claimed."""
    campaign = enabled_campaign(CareCampaign.Kind.VIP_REVISIT)
    if campaign is None:
        return 0
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH zones AS MATERIALIZED (SELECT name FROM pg_timezone_names)
            INSERT INTO customers_outreach (campaign_id, customer_id, occasion, due_at,
                expires_at, status, channel, detail, subject, conversation_id, created_at)
            SELECT %(campaign)s, c.id,
                   'vip_revisit:' || %(every)s || 'd:'
                       || ((((%(now)s::timestamptz AT TIME ZONE z.name)::date
                             - DATE '2000-01-01') + c.id) / %(every)s),
                   %(now)s, %(now)s + interval '1 hour' * %(expire)s,
                   'pending', '', '', '', NULL, now()
            FROM customers_customer c JOIN zones z ON z.name = c.timezone
            WHERE c.level = %(vip)s AND NOT c.care_opt_out
            ON CONFLICT ON CONSTRAINT outreach_once_per_occasion DO NOTHING
            """,
            {
                "campaign": campaign.pk,
                "every": campaign.every_days,
                "expire": campaign.expire_hours,
                "now": now,
                "vip": Customer.Level.VIP,
            },
        )
        return _claimed(cursor)


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


# --- templates ----------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(" + "|".join(CareCampaign.PLACEHOLDERS) + r")\}")


@lru_cache(maxsize=512)
def compiled(text: str) -> tuple[str, ...]:
    """A template split once into literal text and placeholder names (odd positions):
    filling it is a join, whatever the number of customers."""
    return tuple(_PLACEHOLDER.split(text))


def fill(parts: tuple[str, ...], values: dict[str, str]) -> str:
    """The template with each placeholder replaced once: a value that looks like a
    placeholder ("{coupon}" as a customer's name) stays as it is."""
    return "".join(values[part] if index % 2 else part for index, part in enumerate(parts))


def one_line(text: str) -> str:
    """An email subject: one line (a name with a line break must not break the header)."""
    return " ".join(text.split())[: CareCampaign.MAX_SUBJECT]


def amount_text(amount: Decimal | None) -> str:
    if amount is None:
        return ""
    text = f"{amount:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@lru_cache(maxsize=8)
def language_words(language: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """What a language fills in whatever the customer: the word for a customer without a
    name, the levels' names and their benefits (translated once per process)."""
    with override(language):
        nameless = pgettext("a customer without a name", "there")
        labels = {value: str(label) for value, label in Customer.Level.choices}
        benefits = {str(level): str(text) for level, text in Customer.LEVEL_BENEFITS.items()}
    return str(nameless), labels, benefits


def placeholder_values(
    *,
    language: str,
    name: str,
    order: tuple[str, str, str] | None = None,
    coupon: tuple[str, Decimal] | None = None,
    level: str = "",
    ticket: str = "",
) -> dict[str, str]:
    """Every placeholder's value for one customer: `order` is (number, carrier,
    tracking), `coupon` (code, amount)."""
    nameless, labels, benefits = language_words(language)
    number, carrier, tracking = order or ("", "", "")
    return {
        "name": name or nameless,
        "order": number,
        "carrier": carrier,
        "tracking": tracking,
        "coupon": coupon[0] if coupon else "",
        "amount": amount_text(coupon[1]) if coupon else "",
        "level": labels.get(level, "") if level else "",
        "benefits": benefits.get(level, "") if level else "",
        "ticket": ticket,
    }


def render(
    campaign: CareCampaign,
    *,
    customer: Customer,
    language: str,
    order: Order | None = None,
    coupon: Coupon | None = None,
    level: str = "",
    ticket: str = "",
    subject: bool = False,
) -> str:
    """The campaign's message (or, with `subject`, its email subject) in `language`
    (zh-hans or en), its placeholders filled by plain replacement: a template can reach
    nothing but these values."""
    values = placeholder_values(
        language=language,
        name=customer.name,
        order=(order.number, order.carrier, order.tracking_number) if order else None,
        coupon=(coupon.code, coupon.amount) if coupon else None,
        level=level,
        ticket=ticket,
    )
    if subject:
        return one_line(fill(compiled(campaign.subject_in(language)), values))
    return fill(compiled(campaign.text_in(language)), values)


# --- sending a batch (called by conversations/services/care.py) ----------------------


class DueOutreach(NamedTuple):
    """A claimed outreach taken for sending, with what its sender needs of the customer (a
    named tuple: a batch makes a thousand, each straight from its row)."""

    id: int
    campaign_id: int
    customer_id: int
    occasion: str
    subject: str
    conversation_id: UUID | None
    created_at: datetime
    expires_at: datetime
    name: str
    email: str
    language: str
    timezone: str
    quiet_start: time | None
    quiet_end: time | None
    opted_out: bool
    level: str


def take_due(*, now: datetime, limit: int, only: int | None = None) -> list[DueOutreach]:
    """Up to `limit` pending outreach rows due by `now` (or the one with id `only`),
    oldest first (the `outreach_due_queue` index's order), locked FOR UPDATE SKIP LOCKED
    for the caller's transaction: another worker takes other rows, never these."""
    with connection.cursor() as cursor:
        native_timestamps(cursor)
        cursor.execute(
            """
            SELECT o.id, o.campaign_id, o.customer_id, o.occasion, o.subject,
                   o.conversation_id, o.created_at, o.expires_at, c.name, c.email,
                   c.language, c.timezone, c.quiet_start, c.quiet_end, c.care_opt_out, c.level
            FROM customers_outreach o JOIN customers_customer c ON c.id = o.customer_id
            WHERE o.status = 'pending' AND o.due_at <= %(now)s
              AND (%(only)s::bigint IS NULL OR o.id = %(only)s)
            ORDER BY o.due_at, o.id
            LIMIT %(limit)s
            FOR UPDATE OF o SKIP LOCKED
            """,
            {"now": now, "only": only, "limit": limit},
        )
        return list(map(DueOutreach._make, cursor.fetchall()))


def int_array(values) -> str:
    """A PostgreSQL array literal of integers, made in one join: psycopg would quote a
    list of a thousand one element at a time (most of a batch's time went there)."""
    return "{" + ",".join(map(str, values)) + "}"


def text_array(values) -> str:
    """A PostgreSQL array literal of texts, each quoted and escaped."""
    return (
        "{"
        + ",".join('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values)
        + "}"
    )


# Advisory lock keys (namespace, customer) of the sender: the daily cap is counted and
# used by one worker at a time per customer.
CUSTOMER_LOCK_NAMESPACE = 0xCA4E


def lock_customers(customer_ids) -> None:
    """Hold every one of these customers for the caller's transaction, in a fixed order
    (two workers never wait on each other in a circle). A second worker with another
    outreach of the same customer waits here until the first has recorded its sends,
    so the daily cap it then counts includes them."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(pg_advisory_xact_lock(%s, k))
            FROM (SELECT DISTINCT (c %% 2147483647)::int AS k FROM unnest(%s::bigint[]) c
                  ORDER BY 1) keys
            """,
            [CUSTOMER_LOCK_NAMESPACE, int_array(sorted(set(customer_ids)))],
        )


def recent_sends(customer_ids, *, now: datetime) -> dict[int, list[datetime]]:
    """Per customer, the times of their last CARE_DAILY_CAP messages in the 24 hours
    before `now` (newest first): those sent, and emails still being sent. One query."""
    cap = settings.CARE_DAILY_CAP
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT customer_id, array_agg(sent_at ORDER BY sent_at DESC)
            FROM (SELECT customer_id, sent_at,
                         row_number() OVER (PARTITION BY customer_id ORDER BY sent_at DESC) n
                  FROM customers_outreach
                  WHERE customer_id = ANY(%(customers)s) AND sent_at > %(since)s
                    AND status IN ('sent', 'sending') AND channel IN ('chat', 'email')) r
            WHERE n <= %(cap)s
            GROUP BY customer_id
            """,
            {
                "customers": int_array(set(customer_ids)),
                "since": now - timedelta(days=1),
                "cap": cap,
            },
        )
        return dict(cursor.fetchall())


def coupon_campaign(campaign: CareCampaign, occasion: str) -> str:
    """The coupon's campaign slug: one coupon per customer and outreach."""
    return f"{campaign.kind}-{occasion}".replace(":", "-")[:60]


COUPON_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 letters and digits, none alike


def coupon_codes(count: int) -> list[str]:
    """`count` codes of ten random characters of COUPON_ALPHABET each (50 bits; 256 is a
    multiple of 32, so each character is uniform), from one draw of random bytes."""
    letters = "".join(COUPON_ALPHABET[byte & 31] for byte in secrets.token_bytes(10 * count))
    return [letters[start : start + 10] for start in range(0, 10 * count, 10)]


def coupon_code() -> str:
    """One code (see coupon_codes)."""
    return coupon_codes(1)[0]


def issue_coupons(
    wanted: list[tuple[int, CareCampaign, str]], *, now: datetime
) -> dict[tuple[int, str], tuple[str, Decimal]]:
    """The coupons of these (customer, campaign, occasion) outreach, issued once each:
    one INSERT for all; a retry finds the ones issued before, and a code that another
    coupon has is drawn again. Returns (code, amount) per (customer, coupon campaign
    slug)."""
    keys: dict[tuple[int, str], CareCampaign] = {
        (customer_id, coupon_campaign(campaign, occasion)): campaign
        for customer_id, campaign, occasion in wanted
    }
    campaigns = list({campaign.pk: campaign for campaign in keys.values()}.values())
    position = {campaign.pk: index for index, campaign in enumerate(campaigns, start=1)}
    issued: dict[tuple[int, str], tuple[str, Decimal]] = {}
    for attempt in range(5):
        missing = [key for key in keys if key not in issued]
        if not missing:
            break
        if attempt > 0:  # issued before (a retry), or a code taken: look, then draw again
            issued.update(_coupons_of(missing))
            missing = [key for key in missing if key not in issued]
            if not missing:
                break
        slugs = list(dict.fromkeys(slug for _customer_id, slug in missing))
        slug_at = {slug: index for index, slug in enumerate(slugs, start=1)}
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO customers_coupon (code, customer_id, campaign, title, amount,
                    minimum_spend, issued_at, expires_at, redeemed_at)
                SELECT w.code, w.customer_id, (%(slugs)s::text[])[w.slug],
                       (%(titles)s::text[])[w.campaign], (%(amounts)s::numeric[])[w.campaign],
                       0, now(), (%(expires)s::timestamptz[])[w.campaign], NULL
                FROM unnest(%(codes)s::text[], %(customers)s::bigint[], %(slug_at)s::int[],
                            %(campaign_at)s::int[]) AS w(code, customer_id, slug, campaign)
                ON CONFLICT DO NOTHING
                RETURNING customer_id, campaign, code, amount
                """,
                {
                    "codes": text_array(coupon_codes(len(missing))),
                    "customers": int_array(customer_id for customer_id, _slug in missing),
                    "slug_at": int_array(slug_at[slug] for _customer_id, slug in missing),
                    "campaign_at": int_array(position[keys[key].pk] for key in missing),
                    "slugs": slugs,
                    "titles": [str(campaign) for campaign in campaigns],
                    "amounts": [campaign.coupon_amount for campaign in campaigns],
                    "expires": [now + timedelta(days=c.coupon_days) for c in campaigns],
                },
            )
            for customer_id, slug, code, amount in cursor.fetchall():
                issued[(customer_id, slug)] = (code, amount)
    return issued


def _coupons_of(keys: list[tuple[int, str]]) -> dict[tuple[int, str], tuple[str, Decimal]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.customer_id, c.campaign, c.code, c.amount
            FROM customers_coupon c
            JOIN unnest(%s::bigint[], %s::text[]) AS k(customer_id, campaign)
              ON k.customer_id = c.customer_id AND k.campaign = c.campaign
            """,
            [
                int_array(customer_id for customer_id, _slug in keys),
                text_array(slug for _customer_id, slug in keys),
            ],
        )
        return {(customer_id, slug): (code, amount) for customer_id, slug, code, amount in cursor}


def orders_of(pairs) -> dict[tuple[int, str], tuple[str, str, str]]:
    """(number, carrier, tracking) of these (customer, order number) pairs, in one query."""
    pairs = set(pairs)
    if not pairs:
        return {}
    rows = Order.objects.filter(
        number__in={number for _customer, number in pairs},
        customer_id__in={customer for customer, _number in pairs},
    ).values_list("customer_id", "number", "carrier", "tracking_number")
    return {
        (customer, number): (number, carrier, tracking)
        for customer, number, carrier, tracking in rows
        if (customer, number) in pairs
    }


@dataclass(slots=True)
class Outcome:
    """What became of one outreach of a batch."""

    id: int
    status: str
    channel: str = ""
    detail: str = ""
    sent_at: datetime | None = None
    due_at: datetime | None = None
    conversation_id: UUID | None = None


def record_outcomes(outcomes: list[Outcome]) -> None:
    """Every outcome of a batch in one UPDATE (sent, being sent, skipped, expired, or
    due later). Rows that came out alike (a thousand emails being sent) share one set of
    values: each row names its set by number."""
    if not outcomes:
        return
    shapes: dict[tuple, int] = {}
    for outcome in outcomes:
        shapes.setdefault(
            (
                outcome.status,
                outcome.channel,
                outcome.detail[:300],
                outcome.sent_at,
                outcome.due_at,
                outcome.conversation_id,
            ),
            len(shapes) + 1,
        )
    columns = list(zip(*shapes, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE customers_outreach o
            SET status = (%(status)s::text[])[v.shape],
                channel = (%(channel)s::text[])[v.shape],
                detail = (%(detail)s::text[])[v.shape],
                sent_at = COALESCE((%(sent_at)s::timestamptz[])[v.shape], o.sent_at),
                due_at = COALESCE((%(due_at)s::timestamptz[])[v.shape], o.due_at),
                conversation_id = COALESCE((%(conversation)s::uuid[])[v.shape], o.conversation_id)
            FROM unnest(%(ids)s::bigint[], %(shapes)s::int[]) AS v(id, shape)
            WHERE o.id = v.id
            """,
            {
                "ids": int_array(outcome.id for outcome in outcomes),
                "shapes": int_array(
                    shapes[
                        (
                            outcome.status,
                            outcome.channel,
                            outcome.detail[:300],
                            outcome.sent_at,
                            outcome.due_at,
                            outcome.conversation_id,
                        )
                    ]
                    for outcome in outcomes
                ),
                "status": list(columns[0]),
                "channel": list(columns[1]),
                "detail": list(columns[2]),
                "sent_at": list(columns[3]),
                "due_at": list(columns[4]),
                "conversation": list(columns[5]),
            },
        )


def confirm_emails(*, sent: list[int], failed: list[int]) -> None:
    """After the mail backend answered: what it took is sent, what it refused keeps
    "being sent" (never tried again) with the reason."""
    with connection.cursor() as cursor:
        if sent:
            cursor.execute(
                "UPDATE customers_outreach SET status = 'sent' "
                "WHERE id = ANY(%s::bigint[]) AND status = 'sending'",
                [int_array(sent)],
            )
        if failed:
            cursor.execute(
                "UPDATE customers_outreach SET detail = 'email failed' WHERE id = ANY(%s::bigint[])",
                [int_array(failed)],
            )


def release_unsent(outreach_ids: list[int], *, due_at: datetime, detail: str) -> None:
    """Emails marked "being sent" that certainly did not go out (the mail server could
    not be reached): pending again, due at `due_at`."""
    Outreach.objects.filter(pk__in=outreach_ids, status=Outreach.Status.SENDING).update(
        status=Outreach.Status.PENDING, channel="", sent_at=None, due_at=due_at, detail=detail
    )
