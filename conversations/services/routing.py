"""Routing: waiting conversations meet agents with free capacity.

One router at a time (`drain_queues`, under a PostgreSQL advisory lock that
every process shares) matches everything that waits to every agent with room,
in a few statements whatever the size of a burst. It runs at once, not on a
timer: after the commit that queued a conversation and after the commit that
gave an agent room (a close, a transfer, coming online). A Celery Beat sweep
(`route_waiting`) is the safety net, and what lets a conversation overflow to
another group once it has waited long enough.

Locks, always in this order: an agent's row, then a conversation's row.

- Whatever gives an agent a conversation (the router, a Take, a transfer)
  locks the agent's row first (`SELECT … FOR UPDATE`) and counts the agent's
  open conversations under that lock, so no agent goes over capacity.
- It then locks the conversation's row; PostgreSQL re-reads a locked row, so
  a conversation taken meanwhile is seen as taken: never assigned twice.
- Releasing capacity (a close, a transfer away) needs no agent lock: a count
  that only goes down cannot break the limit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from conversations import events, selectors, webhooks
from conversations.models import Agent, Conversation, Message, SkillGroup
from conversations.protocol import message_payload, status_payload
from conversations.services.messages import post_system_message
from conversations.services.queue import announce_desks, announce_queue
from helpdesk.languages import django_language
from helpdesk.realtime import publish_all_on_commit, publish_on_commit

logger = logging.getLogger(__name__)


class AtCapacity(Exception):
    """The agent already holds as many conversations as their capacity allows."""


def publish_status(conversation: Conversation) -> None:
    """The conversation's status to everyone in it, and "the lists changed" to the desks
    (soon, once per burst)."""
    publish_on_commit(
        events.conversation_group(conversation.id),
        events.status_event(selectors.live_status(conversation)),
    )
    announce_desks()


def lock_agent(agent_id: int) -> Agent:
    """The agent's row, locked until the end of the transaction (first, before any
    conversation row)."""
    return Agent.objects.select_for_update(of=("self",)).get(pk=agent_id)


def assign_locked(
    conversation: Conversation,
    agent: Agent,
    *,
    by: str,
    say: Callable[[Agent], str] | None = None,
) -> None:
    """Give one locked conversation to one locked agent (a Take, a transfer): the caller
    holds both locks and has checked capacity. `say` words the system line (default: the
    agent has joined), in the conversation's language."""
    assign_all([(conversation, agent)], now=timezone.now(), by=by, say=say)


def requeue_locked(conversation: Conversation, *, say: Callable[[], str]) -> None:
    """Put a locked conversation back in its queue, keeping its first queue time (so it comes
    before later arrivals); tell the customer `say()` in their language; route after commit
    (which publishes its new status)."""
    previous = conversation.assignee_id
    conversation.status = Conversation.Status.QUEUED
    conversation.assignee = None
    conversation.queued_at = conversation.queued_at or timezone.now()
    conversation.save(
        update_fields=["status", "assignee", "queued_at", "skill_group", "updated_at"]
    )
    with override(django_language(conversation.language)):
        post_system_message(conversation_id=conversation.id, body=say(), meta={"event": "queued"})
    if previous:
        publish_on_commit(
            events.agent_group(previous), events.released_event(conversation_id=conversation.id)
        )
    announce_queue(conversation.skill_group_id)
    route_on_commit(conversation_id=conversation.id)


# PostgreSQL advisory lock keys. RUN: one router at a time, in every process.
# NEXT: held by the one router waiting for RUN; whoever cannot get it knows a
# router is about to start (and will see what they committed), and returns.
ROUTER_RUN = 0x4C554D454E  # "LUMEN"
ROUTER_NEXT = ROUTER_RUN + 1


@dataclass
class _Seat:
    """An agent with room, as the matching sees them."""

    agent: Agent
    room: int
    load: int
    groups: set[int] = field(default_factory=set)

    def order(self, strategy: str) -> tuple:
        last = self.agent.last_assigned_at or EPOCH
        if strategy == SkillGroup.Strategy.LEAST_LOAD:
            return (self.load, last, self.agent.pk)
        return (last, self.agent.pk)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def match(
    waiting: list[Conversation],
    seats: dict[int, _Seat],
    groups: dict[int, SkillGroup],
    *,
    dedicated: dict[int, int],
    returning: dict[int, tuple[int, datetime]],
    now: datetime,
) -> list[tuple[Conversation, _Seat]]:
    """Who gets which conversation, in queue order (VIP first, then the longest wait).

    For each conversation: the customer's dedicated agent, then the agent who
    served them last within the group's window (each when the group asks for
    it), then the group's agents in the group's order (least load or
    round-robin), then — once it has waited past the overflow time — the
    overflow group's. Pure: counts room and load as it goes.
    """
    pairs = []
    for conversation in waiting:
        group = groups.get(conversation.skill_group_id)
        preferred = []
        if group is None or group.prefer_dedicated_agent:
            preferred.append(dedicated.get(conversation.customer_id))
        if group is None or group.prefer_returning_agent:
            last = returning.get(conversation.customer_id)
            window = timedelta(hours=group.returning_window_hours if group else 72)
            if last is not None and now - last[1] <= window:
                preferred.append(last[0])
        chosen = next((seats[pk] for pk in preferred if pk in seats and seats[pk].room), None)
        if chosen is None:
            pools = [group] if group else [None]
            waited = now - (conversation.queued_at or now)
            if (
                group
                and group.overflow_group_id
                and waited >= timedelta(seconds=group.overflow_after)
            ):
                pools.append(groups.get(group.overflow_group_id))
            for pool in pools:
                members = [
                    seat
                    for seat in seats.values()
                    if seat.room and (pool is None or pool.pk in seat.groups)
                ]
                if members:
                    strategy = pool.strategy if pool else SkillGroup.Strategy.LEAST_LOAD
                    chosen = min(members, key=lambda seat, s=strategy: seat.order(s))
                    break
        if chosen is None:
            continue
        chosen.room -= 1
        chosen.load += 1
        chosen.agent.last_assigned_at = now
        pairs.append((conversation, chosen))
    return pairs


def drain_queues() -> list[tuple[UUID, int]] | None:
    """Give waiting conversations to online agents with room, as many as there is room for.

    One router works at a time in the whole installation (a transaction-level
    advisory lock), and at most one more waits for it: a router that finds one
    waiting returns at once, since that one will start after this caller's
    commit and see it. So every commit is seen by a router that starts after
    it, and a conversation is never left waiting while an agent who may take
    it has room, however many handoffs arrive at once.

    Each agent's row is locked (in id order) and their load counted under the
    lock; then the waiting conversations' rows, re-read and skipped if taken
    meanwhile. A burst is matched in a few statements whatever its size.
    Returns the (conversation, agent) pairs assigned, or None when it left the work to
    the router waiting to run (which also tells those still waiting their places).
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [ROUTER_NEXT])
        if not cursor.fetchone()[0]:
            return None  # the router waiting to run will see this commit
        waiting = True
        try:
            with transaction.atomic():
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROUTER_RUN])
                cursor.execute("SELECT pg_advisory_unlock(%s)", [ROUTER_NEXT])
                waiting = False
                pairs = _drain(timezone.now())
                for group_id in selectors.groups_with_waiting():
                    announce_queue(group_id)  # those still waiting, some told by no one yet
                return pairs
        finally:
            if waiting:  # the lock was not reached: let the next router wait instead
                cursor.execute("SELECT pg_advisory_unlock(%s)", [ROUTER_NEXT])


def _drain(now: datetime) -> list[tuple[UUID, int]]:
    """The matching itself, under the router lock (see drain_queues)."""
    waiting_in = set(selectors.groups_with_waiting())
    if not waiting_in:
        return []  # an agent came online or freed room, and nobody waits
    groups = {g.pk: g for g in SkillGroup.objects.all()}
    # Only agents who may take something that waits are locked and counted: with
    # conversations of no group waiting, anyone; else the groups' members and the
    # members of the groups they overflow to.
    serving = None
    if None not in waiting_in:
        serving = waiting_in | {
            groups[g].overflow_group_id
            for g in waiting_in
            if g in groups and groups[g].overflow_group_id
        }
    with_room = selectors.agents_with_room(serving=serving).values_list("pk", flat=True)
    agents = list(
        Agent.objects.select_for_update(of=("self",))
        .filter(pk__in=list(with_room), status=Agent.Status.ONLINE)
        .order_by("pk")
    )
    if not agents:
        return []
    loads = selectors.agent_loads([a.pk for a in agents])
    seats = {
        a.pk: _Seat(a, room=a.capacity - loads.get(a.pk, 0), load=loads.get(a.pk, 0))
        for a in agents
        if a.capacity > loads.get(a.pk, 0)
    }
    if not seats:
        return []
    for agent_id, group_id in Agent.skill_groups.through.objects.filter(
        agent_id__in=seats
    ).values_list("agent_id", "skillgroup_id"):
        seats[agent_id].groups.add(group_id)
    waiting = list(
        Conversation.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(selectors.waiting_for(seats_groups(seats), groups, now=now))
        .order_by("-priority", "queued_at", "created_at")[
            : 2 * sum(s.room for s in seats.values()) + 50
        ]
    )
    if not waiting:
        return []
    customers = {c.customer_id for c in waiting}
    pairs = match(
        waiting,
        seats,
        groups,
        dedicated=selectors.dedicated_agents(customers),
        returning=selectors.last_agents(customers, exclude=[c.pk for c in waiting]),
        now=now,
    )
    if pairs:
        assign_all([(conversation, seat.agent) for conversation, seat in pairs], now=now)
    return [(conversation.pk, seat.agent.pk) for conversation, seat in pairs]


def seats_groups(seats: dict[int, _Seat]) -> set[int]:
    return set().union(*(seat.groups for seat in seats.values()))


_ASSIGN_ALL_SQL = f"""
WITH v(id, agent_id, message_id, body, meta) AS (VALUES {{rows}}),
assigned AS (
    UPDATE {Conversation._meta.db_table} c
       SET status = 'assigned', assignee_id = v.agent_id,
           assigned_at = COALESCE(c.assigned_at, %s), queued_at = COALESCE(c.queued_at, %s),
           last_seq = c.last_seq + 1, last_message_at = %s, updated_at = %s
      FROM v
     WHERE c.id = v.id
 RETURNING c.id, c.last_seq, v.message_id, v.body, v.meta
)
INSERT INTO {Message._meta.db_table}
       (id, conversation_id, seq, sender, sender_name, agent_id, body, client_id, meta, created_at)
SELECT message_id, id, last_seq, 'system', '', NULL, body, '', meta, %s FROM assigned
RETURNING conversation_id, seq
"""  # noqa: S608 (constant table names; values are parameters)


def _joined(agent: Agent) -> str:
    return _("%(agent)s has joined the conversation.") % {"agent": agent.display_name}


def assign_all(
    pairs: list[tuple[Conversation, Agent]],
    *,
    now: datetime,
    by: str = "routing",
    say: Callable[[Agent], str] | None = None,
) -> None:
    """Assign locked conversations to locked agents and write each one's system line
    (`say(agent)`, in the conversation's language; default "… has joined") in one
    statement; the agents' last assignment in another; the partner events (each line's
    `message.created`, then `conversation.assigned`) in a third; the live events after
    commit, in order: the line and the status to the conversation, the assignment to the
    agent's desks."""
    say = say or _joined
    lines = {}
    rows, params = [], []
    for conversation, agent in pairs:
        with override(django_language(conversation.language)):
            body = say(agent)
        meta = {"event": "assigned", "agent": agent.display_name}
        line = Message(
            id=uuid4(),
            conversation_id=conversation.pk,
            sender=Message.Sender.SYSTEM,
            body=body,
            meta=meta,
            created_at=now,
        )
        lines[conversation.pk] = line
        rows.append("(%s::uuid, %s::bigint, %s::uuid, %s::text, %s::jsonb)")
        params += [conversation.pk, agent.pk, line.id, body, json.dumps(meta, ensure_ascii=False)]
    with connection.cursor() as cursor:
        cursor.execute(
            _ASSIGN_ALL_SQL.format(rows=", ".join(rows)), [*params, now, now, now, now, now]
        )
        seqs = dict(cursor.fetchall())
    Agent.objects.filter(pk__in={agent.pk for _, agent in pairs}).update(last_assigned_at=now)
    outbox = []
    waited_in = set()
    for conversation, agent in pairs:
        if conversation.status == Conversation.Status.QUEUED:
            waited_in.add(conversation.skill_group_id)
        line = lines[conversation.pk]
        line.seq = seqs[conversation.pk]
        conversation.status = Conversation.Status.ASSIGNED
        conversation.assignee = agent
        conversation.assigned_at = conversation.assigned_at or now
        agent.last_assigned_at = now
        group = events.conversation_group(conversation.pk)
        outbox += [
            (group, events.message_event(message_payload(line, []))),
            (group, events.status_event(status_payload(conversation))),
            (
                events.agent_group(agent.pk),
                events.assigned_event(
                    conversation_id=conversation.pk,
                    customer=conversation.customer.display_name,
                    by=by,
                ),
            ),
        ]
    publish_all_on_commit(outbox)
    webhooks.conversations_assigned(
        [(conversation, lines[conversation.pk]) for conversation, _agent in pairs], by=by
    )
    for group_id in waited_in:
        announce_queue(group_id)  # those behind them move up (and the desks' lists change)
    if not waited_in:
        announce_desks()


def route_waiting() -> int:
    """The sweep (Celery Beat): match everything that waits (overflow becomes due with
    time, and anything an event missed). Returns how many found an agent."""
    return len(drain_queues() or [])


def route_on_commit(*, conversation_id: UUID | None = None, agent_id: int | None = None) -> None:
    """Route once the current transaction commits (it queued a conversation, or gave an
    agent room). A conversation that is still waiting afterwards is told its place in
    line (one that found an agent was told by the assignment). A failure is logged and
    left to the sweep."""

    def run():
        try:
            if drain_queues() is not None and conversation_id is not None:
                _announce_waiting(conversation_id)
        except Exception:
            logger.exception("routing after commit failed; the sweep will retry")

    transaction.on_commit(run)


def _announce_waiting(conversation_id: UUID) -> None:
    conversation = (
        Conversation.objects.select_related("assignee")
        .filter(pk=conversation_id, status=Conversation.Status.QUEUED)
        .first()
    )
    if conversation is not None:
        publish_status(conversation)
