"""SLA clocks running out: warned when at risk, recorded and acted on when breached.

Celery Beat runs `record_breaches` and `warn_at_risk` every minute. Each works in
batches, one transaction per batch: the rows are taken with SELECT … FOR UPDATE
SKIP LOCKED and marked in that transaction together with everything done about
them (timeline rows, notices, priority and group changes, partner events), so a
clock is warned once and breached once, and acted on once, however many workers
run and whatever is retried. A paused clock is neither at risk nor breached.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override, pgettext

from conversations.models import Agent, SkillGroup
from conversations.services.notices import MAX_TEXT, Draft, notify_many, publish_notices
from helpdesk import webhooks
from helpdesk.ids import UUID7_SQL
from tickets.events import number_sql, ticket_json_sql, utc_sql
from tickets.models import CLOCK_LABELS, CLOCKS, Priority, Ticket, TicketEvent
from tickets.services import assignment
from tickets.services.tickets import change_ticket

BREACH_BATCH = 1000
# A run stops taking new batches after this long; the next minute's run goes on.
RUN_BUDGET_SECONDS = 45.0
# Where a notice's template takes the ticket's number and subject (SQL replaces them).
NUMBER_MARK, SUBJECT_MARK, CLOCK_MARK = "\x01", "\x02", "\x03"


def _breach_sql() -> str:
    hit = {clock: f"t.{clock}_due <= %(now)s AND t.{clock}_breached_at IS NULL" for clock in CLOCKS}
    # Each clock's own index (ticket_<clock>_clock) finds its due rows, most overdue first.
    candidates = " UNION ".join(
        f"(SELECT t.id FROM tickets_ticket t WHERE {hit[clock]} "  # noqa: S608 (names only)
        f"AND t.{clock}_due IS NOT NULL AND t.sla_paused_at IS NULL "
        f"ORDER BY t.{clock}_due LIMIT %(batch)s)"
        for clock in CLOCKS
    )
    flags = ", ".join(f"({hit[clock]}) AS hit_{clock}" for clock in CLOCKS)
    marks = ", ".join(
        f"{clock}_breached_at = CASE WHEN due.hit_{clock} THEN %(now)s "
        f"ELSE t.{clock}_breached_at END"
        for clock in CLOCKS
    )
    hits = ", ".join(f"due.hit_{clock}" for clock in CLOCKS)
    per_clock = ", ".join(
        f"({position}, '{clock}', m.{clock}_due, m.hit_{clock})"
        for position, clock in enumerate(CLOCKS, start=1)
    )
    ticket_json, joins = ticket_json_sql("m")
    return f"""
WITH due AS (
    SELECT t.id, {flags}
    FROM tickets_ticket t
    WHERE t.id IN ({candidates})
      AND t.sla_paused_at IS NULL AND ({" OR ".join(f"({h})" for h in hit.values())})
    LIMIT %(batch)s
    FOR UPDATE OF t SKIP LOCKED
),
marked AS (
    UPDATE tickets_ticket t SET {marks}
    FROM due WHERE t.id = due.id
    RETURNING t.*, {hits}
),
clocks AS (
    SELECT m.id AS ticket_id, c.position, c.clock, c.due
    FROM marked m
    CROSS JOIN LATERAL (VALUES {per_clock}) AS c(position, clock, due, hit)
    WHERE c.hit
),
timeline AS (
    INSERT INTO tickets_ticketevent (ticket_id, kind, field, old, new, via, created_at)
    SELECT ticket_id, 'sla', clock, '', 'breached', '', %(stamp)s
    FROM clocks ORDER BY ticket_id, position
),
tickets_json AS MATERIALIZED (  -- once a ticket, not once a clock
    SELECT m.id, {ticket_json} AS data
    FROM marked m {joins}
),
outbox AS (
    INSERT INTO helpdesk_outboundevent (id, event, data, created_at)
    SELECT {UUID7_SQL}, 'ticket.sla_breached',
           jsonb_build_object('ticket', j.data, 'clock', c.clock, 'due', {utc_sql("c.due")},
                              'breached_at', {utc_sql("%(now)s::timestamptz")}),
           %(stamp)s
    FROM clocks c JOIN tickets_json j ON j.id = c.ticket_id
    ORDER BY c.ticket_id, c.position
),
per_ticket AS (
    SELECT ticket_id,
           string_agg(clock || '@' || COALESCE({utc_sql("due")}, ''), ',' ORDER BY position)
               AS clocks_key,
           string_agg((%(zh_clocks)s::text[])[position], %(zh_and)s ORDER BY position)
               AS zh_clocks,
           string_agg((%(en_clocks)s::text[])[position], %(en_and)s ORDER BY position)
               AS en_clocks
    FROM clocks GROUP BY ticket_id
),
recipients AS (
    SELECT m.id AS ticket_id, m.assignee_id AS agent_id
    FROM marked m LEFT JOIN tickets_slapolicy p ON p.id = m.sla_policy_id
    WHERE m.assignee_id IS NOT NULL AND COALESCE(p.notify_assignee, true)
    UNION
    SELECT m.id, s.agent_id
    FROM marked m LEFT JOIN tickets_slapolicy p ON p.id = m.sla_policy_id
    JOIN unnest(%(groups)s::bigint[], %(agents)s::bigint[]) AS s(group_id, agent_id)
      ON s.group_id = COALESCE(m.skill_group_id, 0)
    WHERE COALESCE(p.notify_supervisors, true)
),
made AS (
    INSERT INTO conversations_notice (agent_id, kind, key, text_zh, text_en, url, created_at)
    SELECT r.agent_id, 'sla_breached',
           left('ticket:' || m.id || ':sla_breached:' || pt.clocks_key, 200),
           left(replace(replace(replace(%(zh)s, %(number_mark)s, {number_sql("m.id")}),
                %(clock_mark)s, pt.zh_clocks), %(subject_mark)s, m.subject), {MAX_TEXT}),
           left(replace(replace(replace(%(en)s, %(number_mark)s, {number_sql("m.id")}),
                %(clock_mark)s, pt.en_clocks), %(subject_mark)s, m.subject), {MAX_TEXT}),
           '/desk/tickets/' || m.id || '/', %(stamp)s
    FROM recipients r
    JOIN marked m ON m.id = r.ticket_id
    JOIN per_ticket pt ON pt.ticket_id = r.ticket_id
    ORDER BY r.ticket_id, r.agent_id
    ON CONFLICT (agent_id, key) DO NOTHING
    RETURNING id, agent_id, kind, text_zh, text_en, url, created_at
),
live AS (  -- what reaches the desks: each agent's first notice, with how many there are
    SELECT DISTINCT ON (agent_id) *, count(*) OVER (PARTITION BY agent_id) AS count
    FROM made ORDER BY agent_id, id
)
SELECT
    (SELECT COALESCE(json_agg(json_build_array(ticket_id, clock) ORDER BY ticket_id, position),
                     '[]') FROM clocks),
    (SELECT COALESCE(json_agg(json_build_object(
        'id', id, 'agent', agent_id, 'kind', kind, 'text_zh', text_zh, 'text_en', text_en,
        'url', url, 'created_at', created_at, 'count', count)), '[]') FROM live),
    (SELECT COALESCE(json_agg(m.id ORDER BY m.id), '[]')
     FROM marked m JOIN tickets_slapolicy p ON p.id = m.sla_policy_id
     WHERE m.status <> '{Ticket.Status.CLOSED.value}'
       AND ((p.raise_priority_on_breach AND m.priority < {Priority.URGENT.value})
            OR (p.escalation_group_id IS NOT NULL
                AND p.escalation_group_id IS DISTINCT FROM m.skill_group_id)))
"""  # noqa: S608 (the clocks' and tables' names; every value is a parameter)


BREACH_SQL = _breach_sql()


def _supervisors() -> list[tuple[int, set[int]]]:
    """(agent id, their skill group ids) of every supervisor."""
    rows = (
        Agent.objects.filter(user__is_active=True)
        .filter(Q(user__is_superuser=True) | Q(user__groups__name="Supervisors"))
        .distinct()
        .prefetch_related("skill_groups")
    )
    return [(agent.pk, {g.pk for g in agent.skill_groups.all()}) for agent in rows]


def _supervisors_of(ticket: Ticket, supervisors: list[tuple[int, set[int]]]) -> list[int]:
    """The supervisors of the ticket's group, or every supervisor when it has none."""
    return _supervisors_of_group(ticket.skill_group_id, supervisors)


def _supervisors_of_group(group_id, supervisors: list[tuple[int, set[int]]]) -> list[int]:
    own = [pk for pk, groups in supervisors if group_id in groups]
    return own or [pk for pk, _groups in supervisors]


def _take(clock: str, marked: str, condition: Q, batch: int) -> list[Ticket]:
    ids = list(
        Ticket.objects.filter(condition, sla_paused_at__isnull=True)
        .select_for_update(skip_locked=True, of=("self",))
        .order_by(marked)
        .values_list("pk", flat=True)[:batch]
    )
    if not ids:
        return []
    return list(
        Ticket.objects.filter(pk__in=ids)
        .select_related("customer", "type", "skill_group", "assignee", "sla_policy")
        .prefetch_related("conversations")  # the partner event's ticket lists them
        .order_by(marked, "pk")
    )


def _in_batches(step: Callable[[datetime], list[tuple[int, str]]], now) -> list[tuple[int, str]]:
    done: list[tuple[int, str]] = []
    started = time.monotonic()
    while time.monotonic() - started < RUN_BUDGET_SECONDS:
        with transaction.atomic():
            marked = step(now)
        if not marked:
            break
        done += marked
    return done


def record_breaches(*, now: datetime | None = None, batch: int = BREACH_BATCH):
    """Mark every running clock whose due time has passed as breached, each exactly once,
    and act on it as the ticket's SLA policy says: an SLA row in the timeline; a notice to
    the assignee and to the group's supervisors; one step more urgent; moved to the
    escalation group (and its next agent); a `ticket.sla_breached` partner event.
    Returns the (ticket id, clock) pairs marked."""
    return _in_batches(lambda at: _breach_batch(at, batch), now or timezone.now())


def _breach_batch(now: datetime, batch: int) -> list[tuple[int, str]]:
    """One batch in one statement (BREACH_SQL): up to `batch` tickets with a running clock
    past due, locked (SKIP LOCKED: another worker takes others), every such clock of each
    marked in one UPDATE of the ticket, and what a breach sets off written from the marked
    rows by INSERT … SELECT — no row of it goes through Python. What the policy adds
    (priority, escalation) goes through change_ticket for the few tickets it concerns."""
    texts = {}
    for code, language in (("zh", "zh-hans"), ("en", "en")):
        with override(language):  # the number, the clocks and the subject are left to SQL
            texts[code] = _breached_text(NUMBER_MARK, SUBJECT_MARK, CLOCK_MARK)
            texts[f"{code}_clocks"] = [str(CLOCK_LABELS[clock]) for clock in CLOCKS]
            texts[f"{code}_and"] = pgettext("between the items of a list", ", ")
    groups, agents = _supervisor_map()
    with connection.cursor() as cursor:
        cursor.execute(
            BREACH_SQL,
            {
                "now": now,
                "stamp": timezone.now(),
                "batch": batch,
                **texts,
                "groups": groups,
                "agents": agents,
                "number_mark": NUMBER_MARK,
                "subject_mark": SUBJECT_MARK,
                "clock_mark": CLOCK_MARK,
            },
        )
        marked, made, escalate = cursor.fetchone()
    if marked:
        webhooks.fan_out_on_commit()  # the partner events it wrote go out after commit
    publish_notices(made)
    if escalate:
        _escalate(escalate)
    return [(ticket_id, clock) for ticket_id, clock in marked]


def _supervisor_map() -> tuple[list[int], list[int]]:
    """Who hears of a breach besides the assignee, as (group id, agent id) pairs in two
    lists: a group's own supervisors, or every supervisor when it has none; group 0 stands
    for a ticket in no group."""
    supervisors = _supervisors()
    groups: list[int] = []
    agents: list[int] = []
    for group_id in [0, *SkillGroup.objects.values_list("pk", flat=True)]:
        for agent_id in _supervisors_of_group(group_id, supervisors):
            groups.append(group_id)
            agents.append(agent_id)
    return groups, agents


def _escalate(ticket_ids: list[int]) -> None:
    """A step more urgent and/or to the escalation group, as the tickets' policies say."""
    for ticket in Ticket.objects.filter(pk__in=ticket_ids).select_related("sla_policy"):
        policy = ticket.sla_policy
        changes: dict = {}
        if policy.raise_priority_on_breach and ticket.priority < Priority.URGENT:
            steps = list(Priority.values)
            changes["priority"] = steps[steps.index(ticket.priority) + 1]
        if policy.escalation_group_id and policy.escalation_group_id != ticket.skill_group_id:
            changes["skill_group"] = policy.escalation_group
            changes["assignee"] = None
        if changes and ticket.status != Ticket.Status.CLOSED:
            changed = change_ticket(ticket_id=ticket.pk, actor=None, **changes)
            if "skill_group" in changes:
                _reassign(changed)


def _reassign(ticket: Ticket) -> None:
    agent = assignment.choose_assignee(ticket)
    if agent is not None:
        change_ticket(ticket_id=ticket.pk, actor=None, assignee=agent)


def warn_at_risk(*, now: datetime | None = None, batch: int = BREACH_BATCH):
    """Warn once per clock run when a clock has used the policy's at-risk share of its
    target (and is not breached yet): an SLA row in the timeline and a notice to the
    assignee, or to the group's supervisors while nobody has the ticket. Returns the
    (ticket id, clock) pairs warned."""
    return _in_batches(lambda at: _warn_batch(at, batch), now or timezone.now())


def _warn_batch(now: datetime, batch: int) -> list[tuple[int, str]]:
    for clock in CLOCKS:
        tickets = _take(
            clock,
            f"{clock}_risk_at",
            Q(
                **{
                    f"{clock}_risk_at__lte": now,
                    f"{clock}_warned_at__isnull": True,
                    f"{clock}_breached_at__isnull": True,
                    f"{clock}_due__gt": now,
                }
            ),
            batch,
        )
        if tickets:
            _warned(tickets, clock, now)
            return [(t.pk, clock) for t in tickets]
    return []


def _warned(tickets: list[Ticket], clock: str, now: datetime) -> None:
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(**{f"{clock}_warned_at": now})
    TicketEvent.objects.bulk_create(
        TicketEvent(ticket=t, kind=TicketEvent.Kind.SLA, field=clock, new="at_risk")
        for t in tickets
    )
    supervisors = _supervisors()
    drafts = []
    for ticket in tickets:
        if ticket.sla_policy is not None and not ticket.sla_policy.notify_assignee:
            continue
        agents = (
            [ticket.assignee_id] if ticket.assignee_id else _supervisors_of(ticket, supervisors)
        )
        drafts.append(_draft(ticket, clock, "sla_at_risk", agents, _at_risk_text))
    notify_many(drafts)


def _draft(ticket: Ticket, clock: str, kind: str, agents, text) -> Draft:
    number, subject = ticket.number, ticket.subject
    due = getattr(ticket, f"{clock}_due")
    return Draft(
        agents=agents,
        kind=kind,
        key=f"ticket:{ticket.pk}:{kind}:{clock}:{due.isoformat() if due else ''}",
        text=lambda: text(number, subject, clock, due),
        url=f"/desk/tickets/{ticket.pk}/",
    )


def _breached_text(number, subject, clocks) -> str:
    return _("SLA breached on %(number)s (%(clock)s): %(subject)s") % {
        "number": number,
        "clock": clocks,
        "subject": subject,
    }


def _at_risk_text(number, subject, clock, due) -> str:
    return _("%(number)s is at risk: %(clock)s due %(due)s — %(subject)s") % {
        "number": number,
        "clock": CLOCK_LABELS[clock],
        "due": timezone.localtime(due).strftime("%m-%d %H:%M") if due else "—",
        "subject": subject,
    }
