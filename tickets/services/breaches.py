"""SLA clocks running out: warned when at risk, recorded and acted on when breached.

Celery Beat runs `record_breaches` and `warn_at_risk` every minute. Each works in
batches, one transaction per batch, two statements a batch: the first locks the
tickets of the next clocks due (SELECT … FOR NO KEY UPDATE SKIP LOCKED, through the
clocks' own index), the second marks their clocks (TicketClock rows) and writes
everything done about them from the marked rows by INSERT … SELECT (timeline rows,
notices, partner events), so a clock is warned once and breached once, and acted on
once, however many workers run and whatever is retried. A paused clock is neither at
risk nor breached. The notices a run made reach the desks when it ends (a run is one
batch in a usual minute): one live frame per agent, with how many there are.

The ticket's row lock is what every writer of its clocks holds (the ticket services
too, tickets/services/clock.py): a worker never marks a clock that a change of the
ticket is moving at the same moment, and the second statement, which starts once the
locks are held, reads the clocks as they are.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override, pgettext

from conversations.models import Agent, SkillGroup
from conversations.rooms.services import publish_cards_on_commit, room_cards_sql
from conversations.services.notices import MAX_TEXT, publish_notices
from helpdesk import webhooks
from helpdesk.db import NO_JIT
from helpdesk.ids import UUID7_SQL
from tickets.events import number_sql, ticket_json_sql, utc_sql
from tickets.models import CLOCK_LABELS, CLOCKS, Priority, Ticket
from tickets.services import assignment
from tickets.services.tickets import change_ticket

BREACH_BATCH = 1000
# A run stops taking new batches after this long; the next minute's run goes on.
RUN_BUDGET_SECONDS = 45.0
# Where a notice's template takes the ticket's number, its subject, its clocks and a
# clock's due time (SQL replaces them).
NUMBER_MARK, SUBJECT_MARK, CLOCK_MARK, DUE_MARK = "\x01", "\x02", "\x03", "\x04"


def _running(c: str) -> str:
    """A running clock `c` (TicketClock's RUNNING, as its indexes' predicates have it)."""
    return f"{c}.due IS NOT NULL AND {c}.breached_at IS NULL AND NOT {c}.paused"


def _due(c: str) -> str:
    """The clock `c` has run out (the breach job's)."""
    return f"{c}.due <= %(now)s AND {_running(c)}"


def _at_risk(c: str) -> str:
    """The clock `c` is at risk, not warned yet, not due yet (the at-risk job's)."""
    return (
        f"{c}.risk_at <= %(now)s AND {c}.risk_at IS NOT NULL AND {c}.warned_at IS NULL "
        f"AND {c}.due > %(now)s AND {_running(c)}"
    )


_POSITIONS = ", ".join(f"({n}, '{clock}')" for n, clock in enumerate(CLOCKS, start=1))


def _lock_sql(condition: str, order: str) -> str:
    """The ids of up to %(batch)s tickets with a clock meeting `condition` (of `c`), taken
    in the clocks' `order` through their partial index, each ticket locked; a ticket
    another worker or a change holds is skipped (the scan goes on past it)."""
    return f"""
SELECT DISTINCT id FROM (
    SELECT t.id FROM tickets_ticketclock c JOIN tickets_ticket t ON t.id = c.ticket_id
    WHERE {condition}
    ORDER BY c.{order}
    LIMIT %(batch)s
    FOR NO KEY UPDATE OF t SKIP LOCKED
) locked
"""  # noqa: S608 (conditions of this module; every value is a parameter)


def _mark_sql(
    field: str,
    hit: Callable[[str], str],
    kind: str,
    *,
    clock_text: str,
    supervisors_told: str,
    assignee_told: str = "COALESCE(p.notify_assignee, true)",
    ticket_json: tuple[str, str] | None = None,
) -> str:
    """A batch's second statement, once its tickets (%(tickets)s) are locked: their clocks
    that `hit` (a condition of a clock's alias) get `field` set to now, and from each
    ticket with such clocks (one row of `per_ticket`, its clocks in arrays) come a
    timeline row per clock (new = the job's state), one notice per person told
    (`assignee_told`, `supervisors_told`: conditions of the ticket t and policy p; the
    supervisors of its group from %(supervisors)s, {group id: [agent ids]}) naming its
    clocks (`clock_text`: SQL of a clock c's name in a language, `lang` in its
    parameters' names), the live frames' payloads, and for a breach (`ticket_json`) a
    partner event a clock. Every row is made from one ticket's row and its own clocks,
    read through their index: nothing joins one batch-sized set to another, whatever
    the planner guesses of their sizes. The clocks read are as the UPDATE finds them:
    every writer of them holds the ticket's lock, which this batch holds."""
    state = "breached" if kind == "sla_breached" else "at_risk"
    languages = ("zh", "en")
    per_language = ",\n".join(
        f"string_agg({clock_text.replace('lang', lang)}, %({lang}_and)s ORDER BY v.position)"
        f" AS {lang}_clocks"
        for lang in languages
    )
    texts = ",\n".join(
        f"left(replace(replace(replace(%({lang})s, %(number_mark)s, {number_sql('p.id')}), "
        f"%(clock_mark)s, p.{lang}_clocks), %(subject_mark)s, p.subject), {MAX_TEXT})"
        for lang in languages
    )
    data, joins = ticket_json or ("NULL::jsonb", "")
    sql = f"""
WITH marked AS (
    UPDATE tickets_ticketclock c SET {field} = %(now)s
    WHERE c.ticket_id = ANY(%(tickets)s::bigint[]) AND {hit("c")}
    RETURNING c.ticket_id, c.clock
),
per_ticket AS MATERIALIZED (
    SELECT t.id, t.subject, t.status, t.priority, t.assignee_id, t.skill_group_id,
           p.raise_priority_on_breach, p.escalation_group_id,
           t.assignee_id IS NOT NULL AND {assignee_told} AS tell_assignee,
           {supervisors_told} AS tell_supervisors,
           h.clocks, h.dues, h.clocks_key, h.zh_clocks, h.en_clocks,
           {data} AS data
    FROM tickets_ticket t
    LEFT JOIN tickets_slapolicy p ON p.id = t.sla_policy_id
    CROSS JOIN LATERAL (
        SELECT array_agg(c.clock::text ORDER BY v.position) AS clocks,
               array_agg(c.due ORDER BY v.position) AS dues,
               string_agg(c.clock || '@' || COALESCE({utc_sql("c.due")}, ''), ','
                          ORDER BY v.position) AS clocks_key,
               {per_language}
        FROM tickets_ticketclock c
        JOIN (VALUES {_POSITIONS}) AS v(position, clock) ON v.clock = c.clock
        WHERE c.ticket_id = t.id AND {hit("c")}
    ) h {joins}
    WHERE t.id = ANY(%(tickets)s::bigint[]) AND h.clocks IS NOT NULL
),
timeline AS (
    INSERT INTO tickets_ticketevent (ticket_id, kind, field, old, new, via, created_at)
    SELECT p.id, 'sla', h.clock, '', '{state}', '', %(stamp)s
    FROM per_ticket p CROSS JOIN LATERAL unnest(p.clocks) WITH ORDINALITY AS h(clock, n)
    ORDER BY p.id, h.n
),
made AS (
    INSERT INTO conversations_notice (agent_id, kind, key, text_zh, text_en, url, created_at)
    SELECT r.agent_id, '{kind}', left('ticket:' || p.id || ':{kind}:' || p.clocks_key, 200),
           {texts},
           '/desk/tickets/' || p.id || '/', %(stamp)s
    FROM per_ticket p
    CROSS JOIN LATERAL (
        SELECT p.assignee_id AS agent_id WHERE p.tell_assignee
        UNION
        SELECT s.agent_id::bigint
        FROM jsonb_array_elements_text(
            %(supervisors)s::jsonb -> COALESCE(p.skill_group_id, 0)::text) AS s(agent_id)
        WHERE p.tell_supervisors
    ) r
    ORDER BY p.id, r.agent_id
    ON CONFLICT (agent_id, key) DO NOTHING
    RETURNING id, agent_id, kind, text_zh, text_en, url, created_at
),
live AS (  -- what reaches the desks: each agent's first notice, with how many there are
    SELECT DISTINCT ON (agent_id) *, count(*) OVER (PARTITION BY agent_id) AS count
    FROM made ORDER BY agent_id, id
)"""  # noqa: S608 (names and conditions of this module; every value is a parameter)
    breach = ticket_json is not None
    if breach:
        sql += f""",
outbox AS (
    INSERT INTO helpdesk_outboundevent (id, event, data, created_at)
    SELECT {UUID7_SQL}, 'ticket.sla_breached',
           jsonb_build_object('ticket', p.data, 'clock', h.clock, 'due', {utc_sql("h.due")},
                              'breached_at', {utc_sql("%(now)s::timestamptz")}),
           %(stamp)s
    FROM per_ticket p
    CROSS JOIN LATERAL unnest(p.clocks, p.dues) WITH ORDINALITY AS h(clock, due, n)
    ORDER BY p.id, h.n
)"""  # noqa: S608 (names of this module; every value is a parameter)
    # The cards in the group's team room (docs/rooms.md), from the same rows.
    sql += room_cards_sql(
        source="per_ticket",
        event="breached" if breach else "at_risk",
        number=number_sql("src.id"),
        clocks="src.clocks",
    )
    results = f"""
SELECT
    (SELECT COALESCE(json_agg(json_build_array(m.ticket_id, m.clock)
                              ORDER BY m.ticket_id, v.position), '[]')
     FROM marked m JOIN (VALUES {_POSITIONS}) AS v(position, clock) ON v.clock = m.clock),
    (SELECT COALESCE(json_agg(json_build_object(
        'id', id, 'agent', agent_id, 'kind', kind, 'text_zh', text_zh, 'text_en', text_en,
        'url', url, 'created_at', created_at, 'count', count)), '[]') FROM live),
    (SELECT COALESCE(json_agg(id), '[]') FROM room_cards)"""  # noqa: S608
    return sql + results + (_ESCALATIONS if breach else "")


# The breach batch's tickets whose policy raises the priority or moves them.
_ESCALATIONS = f""",
    (SELECT COALESCE(json_agg(p.id ORDER BY p.id), '[]') FROM per_ticket p
     WHERE p.status <> '{Ticket.Status.CLOSED.value}'
       AND ((p.raise_priority_on_breach AND p.priority < {Priority.URGENT.value})
            OR (p.escalation_group_id IS NOT NULL
                AND p.escalation_group_id IS DISTINCT FROM p.skill_group_id)))"""  # noqa: S608


_CLOCK_NAME = "(%(lang_clocks)s::text[])[v.position]"

# The ticket as partners see it after the breach: its clocks as they are, those this
# statement breaches counted breached.
BREACH_SQL = _mark_sql(
    "breached_at",
    _due,
    "sla_breached",
    clock_text=_CLOCK_NAME,
    supervisors_told="COALESCE(p.notify_supervisors, true)",
    ticket_json=ticket_json_sql(
        "t", breached=lambda c: f"{c}.breached_at IS NOT NULL OR ({_due(c)})"
    ),
)
# While nobody has the ticket, its group's supervisors hear of it (unless the policy
# tells nobody).
WARNING_SQL = _mark_sql(
    "warned_at",
    _at_risk,
    "sla_at_risk",
    clock_text=(
        f"replace(replace(%(lang_item)s, %(clock_mark)s, {_CLOCK_NAME}), %(due_mark)s, "
        "to_char(c.due AT TIME ZONE %(timezone)s, 'MM-DD HH24:MI'))"
    ),
    supervisors_told="t.assignee_id IS NULL AND COALESCE(p.notify_assignee, true)",
)
LOCK_DUE_SQL = _lock_sql(_due("c"), "due")
LOCK_AT_RISK_SQL = _lock_sql(_at_risk("c"), "risk_at")


def _supervisors() -> list[tuple[int, set[int]]]:
    """(agent id, their skill group ids) of every supervisor."""
    rows = (
        Agent.objects.filter(user__is_active=True)
        .filter(Q(user__is_superuser=True) | Q(user__groups__name="Supervisors"))
        .distinct()
        .prefetch_related("skill_groups")
    )
    return [(agent.pk, {g.pk for g in agent.skill_groups.all()}) for agent in rows]


def _supervisors_of_group(group_id, supervisors: list[tuple[int, set[int]]]) -> list[int]:
    own = [pk for pk, groups in supervisors if group_id in groups]
    return own or [pk for pk, _groups in supervisors]


def _supervisor_map() -> dict[str, list[int]]:
    """Who hears of a clock besides the assignee, by group id (as text; "0" stands for no
    group): the group's own supervisors, or every supervisor when it has none."""
    supervisors = _supervisors()
    return {
        str(group_id): _supervisors_of_group(group_id, supervisors)
        for group_id in [0, *SkillGroup.objects.values_list("pk", flat=True)]
    }


def _run(
    lock_sql: str,
    mark_sql: str,
    texts: dict,
    *,
    now: datetime,
    batch: int,
    act=None,
    workers: int | None = None,
):
    """Batches, one transaction each, until nothing is left or the run's budget is spent:
    the batch's tickets locked (`lock_sql`), then their clocks marked and acted on
    (`mark_sql`, then `act` with the rest of its row, in the same transaction; the
    team rooms' cards it made are published on commit). What
    every batch needs is read once a run (who the supervisors are), and the notices of
    all its batches reach the desks after the run: one frame per agent. Returns the
    (ticket id, clock) pairs marked.

    When the first batch was full (there may be more), `workers` − 1 more threads
    (SLA_JOB_WORKERS), each with its own database connection, take batches beside this
    one: the lock's SKIP LOCKED gives each batch its own tickets, so a clock is still
    marked once. A usual minute's run is one batch and no thread."""
    workers = max(1, workers if workers is not None else settings.SLA_JOB_WORKERS)
    started = time.monotonic()
    params: dict = {}

    def batches(first_only: bool = False) -> tuple[list, list, bool]:
        """This thread's batches: the pairs marked, the notices made, and whether the
        last batch was full."""
        done: list[tuple[int, str]] = []
        made: list[dict] = []
        full = False
        while time.monotonic() - started < RUN_BUDGET_SECONDS:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(lock_sql, {"now": now, "batch": batch})
                tickets = [pk for (pk,) in cursor.fetchall()]
                if not tickets:
                    return done, made, False
                # The statement's cost guesses (a CTE's rows are unknown to the planner)
                # are high enough to have it compiled by the JIT: ~90 ms a batch, for
                # nothing.
                cursor.execute(NO_JIT)
                if not params:
                    params.update(
                        now=now,
                        supervisors=json.dumps(_supervisor_map()),
                        number_mark=NUMBER_MARK,
                        subject_mark=SUBJECT_MARK,
                        clock_mark=CLOCK_MARK,
                        due_mark=DUE_MARK,
                        timezone=timezone.get_current_timezone_name(),
                        **texts,
                    )
                cursor.execute(mark_sql, {**params, "tickets": tickets, "stamp": timezone.now()})
                marked, notices, cards, *rest = cursor.fetchone()
                publish_cards_on_commit(cards)
                if act is not None:
                    act(*rest)
            if not marked:
                return done, made, False
            done += [(ticket_id, clock) for ticket_id, clock in marked]
            made += notices
            full = len(tickets) >= batch
            if first_only or not full:
                break
        return done, made, full

    done, made, full = batches(first_only=True)
    if full:
        results = [None] * workers

        def work(n: int) -> None:
            try:
                results[n] = batches()
            finally:
                if n:
                    connection.close()  # the thread's own connection

        threads = [
            threading.Thread(target=work, args=(n,), name=f"sla-job-{n}") for n in range(1, workers)
        ]
        for thread in threads:
            thread.start()
        try:
            work(0)
        finally:
            for thread in threads:
                thread.join()
            for result in results:
                if result is not None:
                    done += result[0]
                    made += result[1]
            publish_notices(made)  # what the batches that committed made
        if None in results:  # a thread failed (logged by threading); its batch rolled back
            raise RuntimeError("SLA job: a worker thread failed; the next run goes on")
        return done
    publish_notices(made)
    return done


def _texts(template: Callable[[], str], item: Callable[[], str] | None = None) -> dict:
    """A notice's template in both languages, with the marks SQL fills (the number, the
    subject and the clocks; `item`: how one clock is named), the clocks' names and the
    separator of a list."""
    texts = {}
    for code, language in (("zh", "zh-hans"), ("en", "en")):
        with override(language):
            texts[code] = template()
            texts[f"{code}_clocks"] = [str(CLOCK_LABELS[clock]) for clock in CLOCKS]
            texts[f"{code}_and"] = pgettext("between the items of a list", ", ")
            if item is not None:
                texts[f"{code}_item"] = item()
    return texts


def record_breaches(
    *, now: datetime | None = None, batch: int = BREACH_BATCH, workers: int | None = None
):
    """Mark every running clock whose due time has passed as breached, each exactly once,
    and act on it as the ticket's SLA policy says: an SLA row in the timeline; a notice to
    the assignee and to the group's supervisors (one per ticket and person, naming its
    clocks); one step more urgent; moved to the escalation group (and its next agent); a
    `ticket.sla_breached` partner event a clock, with the ticket as the API shows it.
    Returns the (ticket id, clock) pairs marked."""
    texts = _texts(lambda: _breached_text(NUMBER_MARK, SUBJECT_MARK, CLOCK_MARK))
    return _run(
        LOCK_DUE_SQL,
        BREACH_SQL,
        texts,
        now=now or timezone.now(),
        batch=batch,
        act=_act_on_breaches,
        workers=workers,
    )


def _act_on_breaches(escalate: list[int]) -> None:
    """In a breach batch's transaction: its partner events go out once it commits, and
    the policies' priority and group changes are made."""
    webhooks.fan_out_on_commit()
    _escalate(escalate)


def _escalate(ticket_ids: list[int]) -> None:
    """A step more urgent and/or to the escalation group, as the tickets' policies say
    (BREACH_SQL names the batch's tickets it concerns; in the batch's transaction)."""
    if not ticket_ids:
        return
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


def warn_at_risk(
    *, now: datetime | None = None, batch: int = BREACH_BATCH, workers: int | None = None
):
    """Warn once per clock run when a clock has used the policy's at-risk share of its
    target (and is neither due nor breached yet): an SLA row in the timeline a clock and
    one notice per ticket and person, naming its clocks and their due times, to the
    assignee, or to the group's supervisors while nobody has the ticket (none when the
    policy does not notify the assignee). Batches as the breach job's, one statement
    each. Returns the (ticket id, clock) pairs warned."""
    texts = _texts(
        lambda: _at_risk_text(NUMBER_MARK, SUBJECT_MARK, CLOCK_MARK),
        lambda: _clock_due_text(CLOCK_MARK, DUE_MARK),
    )
    return _run(
        LOCK_AT_RISK_SQL,
        WARNING_SQL,
        texts,
        now=now or timezone.now(),
        batch=batch,
        workers=workers,
    )


def _breached_text(number, subject, clocks) -> str:
    return _("SLA breached on %(number)s (%(clock)s): %(subject)s") % {
        "number": number,
        "clock": clocks,
        "subject": subject,
    }


def _at_risk_text(number, subject, clocks) -> str:
    return _("%(number)s is at risk: %(clocks)s — %(subject)s") % {
        "number": number,
        "clocks": clocks,
        "subject": subject,
    }


def _clock_due_text(clock, due) -> str:
    return _("%(clock)s due %(due)s") % {"clock": clock, "due": due}
