"""Reads of conversations, scoped to who is asking."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from conversations import hooks
from conversations.models import (
    Agent,
    CannedReply,
    Conversation,
    DedicatedAgent,
    InternalNote,
    Message,
    Notice,
    Participant,
    SkillGroup,
)
from conversations.protocol import queued_status, status_payload
from customers import hooks as customer_hooks
from customers.selectors import Customer360, customer_360


def _ahead_in_queue(conversation: Conversation) -> Q:
    """Queued conversations served before this one: same group, higher priority or longer wait."""
    return Q(status=Conversation.Status.QUEUED, skill_group_id=conversation.skill_group_id) & (
        Q(priority__gt=conversation.priority)
        | Q(priority=conversation.priority, queued_at__lt=conversation.queued_at)
    )


def queue_position(conversation: Conversation) -> int:
    """1 for the conversation its group serves next (VIP first, then the longest wait)."""
    return Conversation.objects.filter(_ahead_in_queue(conversation)).count() + 1


def queue_positions(skill_group_id: int | None) -> list[tuple[UUID, int]]:
    """Every queued conversation of a group with its position, in one query."""
    rows = (
        Conversation.objects.filter(
            status=Conversation.Status.QUEUED, skill_group_id=skill_group_id
        )
        .order_by("-priority", "queued_at", "created_at")
        .values_list("pk", flat=True)
    )
    return [(pk, position) for position, pk in enumerate(rows, start=1)]


def waiting_agents(skill_group_id: int | None) -> QuerySet[Agent]:
    """Online agents who can take a conversation of this group (any agent for no group)."""
    agents = Agent.objects.filter(status=Agent.Status.ONLINE)
    if skill_group_id is None:
        return agents
    overflow = SkillGroup.objects.filter(pk=skill_group_id).values("overflow_group_id")
    return agents.filter(Q(skill_groups=skill_group_id) | Q(skill_groups__in=overflow)).distinct()


MAX_ESTIMATED_WAIT = 7200


def seconds_per_position(skill_group_id: int | None) -> float | None:
    """How long each place in the group's queue is likely to take; None when nobody is online.

    From how fast the group's conversations were taken in the last 15 minutes;
    without that history, from the agents online and a typical handle time.
    """
    online = waiting_agents(skill_group_id).count()
    if not online:
        return None
    window = timedelta(minutes=15)
    taken = Conversation.objects.filter(
        skill_group_id=skill_group_id, assigned_at__gte=timezone.now() - window
    ).count()
    if taken:
        return window.total_seconds() / taken
    return settings.TYPICAL_HANDLE_SECONDS / online


def estimated_wait(per_position: float | None, position: int) -> int | None:
    """Seconds until the conversation at `position` is likely taken (None: nobody online)."""
    if per_position is None:
        return None
    return min(int(per_position * position), MAX_ESTIMATED_WAIT)


def agent_load(agent_id: int) -> int:
    """Open conversations an agent holds (what capacity is measured against)."""
    return Conversation.objects.filter(
        assignee_id=agent_id, status=Conversation.Status.ASSIGNED
    ).count()


def _with_load(agents: QuerySet[Agent]) -> QuerySet[Agent]:
    """Each agent's `load`: the conversations assigned to them now, counted agent by agent
    through the (assignee, status) index. (A join of the agents to their conversations,
    grouped, read every conversation they ever had: 400 ms for 40 agents at a million
    conversations, on every live board and transfer menu.)"""
    assigned = (
        Conversation.objects.filter(assignee=OuterRef("pk"), status=Conversation.Status.ASSIGNED)
        .order_by()
        .values("assignee")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return agents.annotate(load=Coalesce(Subquery(assigned), 0))


def agents_with_room(*, serving: set[int] | None = None) -> QuerySet[Agent]:
    """Online agents holding fewer conversations than their capacity (a read without locks).

    With `serving`, only those the router could give something that waits: members of
    those skill groups, and the dedicated and earlier agents of the customers waiting.
    """
    agents = Agent.objects.filter(status=Agent.Status.ONLINE)
    if serving is not None:
        members = Agent.skill_groups.through.objects.filter(skillgroup_id__in=serving)
        waiting = Conversation.objects.filter(status=Conversation.Status.QUEUED)
        customers = waiting.values("customer_id")
        agents = agents.filter(
            Q(pk__in=members.values("agent_id"))
            | Q(pk__in=DedicatedAgent.objects.filter(customer_id__in=customers).values("agent_id"))
            | Q(
                pk__in=Conversation.objects.filter(
                    customer_id__in=customers, assignee__isnull=False
                ).values("assignee_id")
            )
        )
    return _with_load(agents).filter(load__lt=F("capacity"))


def agent_loads(agent_ids: list[int]) -> dict[int, int]:
    """Open conversations per agent, in one query."""
    return dict(
        Conversation.objects.filter(assignee_id__in=agent_ids, status=Conversation.Status.ASSIGNED)
        .values_list("assignee_id")
        .annotate(n=Count("pk"))
        .values_list("assignee_id", "n")
    )


def waiting_for(served: set[int], groups: dict[int, SkillGroup], *, now) -> Q:
    """Waiting conversations agents of the `served` groups may take: those groups', the ones
    with no group, and those of groups overflowing to a served group that have waited
    past the overflow time."""
    eligible = Q(skill_group__isnull=True) | Q(skill_group_id__in=served)
    for group in groups.values():
        if group.overflow_group_id in served and group.pk not in served:
            eligible |= Q(
                skill_group_id=group.pk,
                queued_at__lte=now - timedelta(seconds=group.overflow_after),
            )
    return Q(status=Conversation.Status.QUEUED, assignee__isnull=True) & eligible


def groups_with_waiting() -> list[int | None]:
    """The skill groups (None: no group) that have conversations waiting now."""
    return list(
        Conversation.objects.filter(status=Conversation.Status.QUEUED)
        .order_by()
        .values_list("skill_group_id", flat=True)
        .distinct()
    )


def dedicated_agents(customer_ids) -> dict[int, int]:
    """customer → their dedicated agent."""
    return dict(
        DedicatedAgent.objects.filter(customer_id__in=customer_ids).values_list(
            "customer_id", "agent_id"
        )
    )


def last_agents(customer_ids, *, exclude) -> dict[int, tuple[int, object]]:
    """customer → (the agent who was last given one of their conversations, when)."""
    rows = (
        Conversation.objects.filter(customer_id__in=customer_ids, assignee__isnull=False)
        .exclude(pk__in=exclude)
        .order_by("customer_id", "-assigned_at")
        .distinct("customer_id")
        .values_list("customer_id", "assignee_id", "assigned_at")
    )
    return {customer: (agent, at) for customer, agent, at in rows if at is not None}


def messages_after(conversation_id: UUID, after_seq: int, limit: int = 1000) -> list[Message]:
    return list(
        Message.objects.filter(conversation_id=conversation_id, seq__gt=after_seq)
        .prefetch_related("attachment_set")
        .order_by("seq")[:limit]
    )


def latest_customer_message(conversation_id: UUID) -> Message | None:
    return (
        Message.objects.filter(conversation_id=conversation_id, sender=Message.Sender.CUSTOMER)
        .order_by("-seq")
        .first()
    )


def agent_for_user(user) -> Agent | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return Agent.objects.filter(user=user).select_related("user").first()


def visible_conversations(agent: Agent) -> QuerySet[Conversation]:
    """What an agent may open.

    Supervisors: everything. Agents: their own (past ones too), the ones they
    consult on, waiting ones their groups may take (or that have no group),
    chats still with the bot, and the earlier conversations of the customers
    they are serving now (the whole story).
    """
    queryset = Conversation.objects.select_related("customer", "assignee", "skill_group")
    if agent.is_supervisor:
        return queryset
    groups = Agent.skill_groups.through.objects.filter(agent_id=agent.pk).values("skillgroup_id")
    overflowing = SkillGroup.objects.filter(overflow_group_id__in=groups).values("pk")
    consulting = Participant.objects.filter(agent_id=agent.pk).values("conversation_id")
    serving = Conversation.objects.filter(
        Q(assignee_id=agent.pk, status=Conversation.Status.ASSIGNED)
        | Q(participants__agent_id=agent.pk, participants__left_at__isnull=True)
    ).values("customer_id")
    return queryset.filter(
        Q(assignee_id=agent.pk)
        | Q(pk__in=consulting)
        | Q(status=Conversation.Status.BOT)
        | (
            Q(status=Conversation.Status.QUEUED)
            & (
                Q(skill_group__isnull=True)
                | Q(skill_group_id__in=groups)
                | Q(skill_group_id__in=overflowing)
            )
        )
        | Q(customer_id__in=serving)
    )


def may_work_on(conversation: Conversation, agent: Agent) -> bool:
    """Assignee, a colleague consulting on it now, or a supervisor: may note, tag, transfer."""
    if agent.is_supervisor or conversation.assignee_id == agent.pk:
        return True
    return Participant.objects.filter(
        conversation_id=conversation.pk, agent_id=agent.pk, left_at__isnull=True
    ).exists()


def waiting_conversations(agent: Agent) -> QuerySet[Conversation]:
    """Waiting for a person first (VIP, then the longest wait), then chats with the bot."""
    return (
        visible_conversations(agent)
        .filter(status__in=Conversation.WAITING_STATUSES, assignee__isnull=True, last_seq__gt=0)
        .order_by("-status", "-priority", "queued_at", "created_at")  # queued before bot
    )


def my_conversations(agent: Agent) -> QuerySet[Conversation]:
    return (
        Conversation.objects.select_related("customer", "skill_group")
        .filter(assignee=agent, status=Conversation.Status.ASSIGNED)
        .order_by("-last_message_at")
    )


def consulting_conversations(agent: Agent) -> QuerySet[Conversation]:
    return (
        Conversation.objects.select_related("customer", "assignee")
        .filter(
            participants__agent=agent,
            participants__left_at__isnull=True,
            status__in=Conversation.OPEN_STATUSES,
        )
        .order_by("-last_message_at")
    )


def agent_groups(agent: Agent) -> list[SkillGroup]:
    """The groups whose queues an agent sees: their own (every group for supervisors)."""
    if agent.is_supervisor:
        return list(SkillGroup.objects.all())
    return list(agent.skill_groups.all())


def group_queues(agent: Agent, *, limit: int = 50) -> list[dict]:
    """Each queue the agent sees, in serving order: [{group, conversations, count}], with the
    conversations that have no group (any agent may take them) as the last queue (group
    None). Two queries."""
    groups = agent_groups(agent)
    ids = [g.pk for g in groups]
    waiting = list(
        Conversation.objects.select_related("customer")
        .filter(status=Conversation.Status.QUEUED)
        .filter(Q(skill_group_id__in=ids) | Q(skill_group__isnull=True))
        .order_by("-priority", "queued_at", "created_at")[: limit * (len(ids) + 1)]
    )
    queues = []
    for group in [*groups, None]:
        members = [c for c in waiting if c.skill_group_id == (group.pk if group else None)]
        queues.append({"group": group, "conversations": members[:limit], "count": len(members)})
    return queues


def bot_conversations(agent: Agent, *, limit: int = 30) -> QuerySet[Conversation]:
    """Chats the bot is having now (an agent may step in)."""
    return (
        Conversation.objects.select_related("customer")
        .filter(status=Conversation.Status.BOT, last_seq__gt=1)
        .order_by("-last_message_at")[:limit]
    )


def all_open_conversations(*, limit: int = 100) -> QuerySet[Conversation]:
    """Everything with a person now (supervisors' list)."""
    return (
        Conversation.objects.select_related("customer", "assignee", "skill_group")
        .filter(status=Conversation.Status.ASSIGNED)
        .order_by("assigned_at")[:limit]
    )


def colleagues(agent: Agent) -> list[Agent]:
    """Everyone an agent may transfer to or invite, with their load (online first)."""
    return list(
        _with_load(Agent.objects.exclude(pk=agent.pk).select_related("user"))
        .prefetch_related("skill_groups")
        .order_by("status", "display_name")
    )


def board() -> dict:
    """The supervisors' live board: per group its queue length and longest wait, each
    agent's status and load, and the conversations with a person now. Four queries."""
    now = timezone.now()
    queued = (
        Conversation.objects.filter(status=Conversation.Status.QUEUED)
        .values("skill_group_id")
        .annotate(
            waiting=Count("pk"), since=Min("queued_at"), vip=Count("pk", filter=Q(priority__gt=0))
        )
    )
    by_group = {row["skill_group_id"]: row for row in queued}
    groups = []
    for group in [*SkillGroup.objects.all(), None]:
        row = by_group.get(group.pk if group else None)
        if group is None and row is None:
            continue
        groups.append(
            {
                "group": group,
                "waiting": row["waiting"] if row else 0,
                "vip": row["vip"] if row else 0,
                "longest_since": row["since"] if row else None,
                "longest_wait": int((now - row["since"]).total_seconds()) if row else 0,
            }
        )
    agents = list(
        _with_load(Agent.objects.all()).prefetch_related("skill_groups").order_by("display_name")
    )
    return {
        "now": now,
        "groups": groups,
        "agents": agents,
        "online": sum(a.status == Agent.Status.ONLINE for a in agents),
        "conversations": list(all_open_conversations()),
        "sections": hooks.board_sections(),  # e.g. today's numbers (analytics)
    }


def live_status(conversation: Conversation) -> dict:
    """The protocol's status of a conversation, with its place in the queue when queued."""
    if conversation.status != Conversation.Status.QUEUED:
        return status_payload(conversation)
    position = queue_position(conversation)
    return queued_status(
        conversation.id,
        position=position,
        estimated_wait=estimated_wait(seconds_per_position(conversation.skill_group_id), position),
    )


def internal_notes(conversation_id: UUID) -> QuerySet[InternalNote]:
    return InternalNote.objects.filter(conversation_id=conversation_id).select_related("agent")


def participants(conversation_id: UUID) -> list[Participant]:
    """The colleagues consulting on a conversation now."""
    return list(
        Participant.objects.filter(conversation_id=conversation_id, left_at__isnull=True)
        .select_related("agent")
        .order_by("joined_at")
    )


def canned_replies(agent: Agent, conversation: Conversation) -> list[dict]:
    """The canned replies the composer offers: in the conversation's language, for every
    group or one of the agent's, with {name} and {agent} filled in."""
    groups = [g.pk for g in agent_groups(agent)]
    replies = CannedReply.objects.filter(language=conversation.language).filter(
        Q(skill_group__isnull=True) | Q(skill_group_id__in=groups)
    )
    values = {"name": conversation.customer.display_name, "agent": agent.display_name}
    return [
        {"shortcut": r.shortcut, "title": r.title, "body": _fill(r.body, values)}
        for r in replies.order_by("shortcut")
    ]


def _fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


PAST_CONVERSATIONS = 10


def customer_conversations(customer_id: int, *, exclude: UUID | None, agent: Agent) -> dict:
    """The customer's other conversations across channels for the 360° panel: the latest
    PAST_CONVERSATIONS (channel, status, people, message count from last_seq, the bot's last
    intent) each marked `visible` when the agent may open it, and the totals over all of
    them. Two queries whatever the number of conversations and messages."""
    others = Conversation.objects.filter(customer_id=customer_id).exclude(pk=exclude)
    last_intent = (
        Message.objects.filter(
            conversation_id=OuterRef("pk"), sender=Message.Sender.BOT, meta__has_key="intent"
        )
        .order_by("-seq")
        .values("meta__intent")[:1]
    )
    visible = (
        Value(True)
        if agent.is_supervisor
        else Exists(visible_conversations(agent).filter(pk=OuterRef("pk")))
    )
    latest = list(
        others.select_related("assignee", "skill_group")
        .annotate(bot_topic=Subquery(last_intent), visible=visible)
        .order_by("-created_at", "-pk")[:PAST_CONVERSATIONS]
    )
    totals = Conversation.objects.filter(customer_id=customer_id).aggregate(
        count=Count("pk"),
        messages=Coalesce(Sum("last_seq"), 0),
        channels=ArrayAgg("channel", distinct=True, default=[]),
    )
    channel_labels = dict(Conversation.Channel.choices)
    return {
        "latest": latest,
        "other_count": totals["count"] - (1 if exclude else 0),
        "count": totals["count"],
        "messages": totals["messages"],
        "channels": [channel_labels.get(c, c) for c in sorted(totals["channels"])],
    }


def customer_panel(conversation: Conversation, agent: Agent) -> Customer360:
    """The 360° panel beside a conversation: the customer's own data (customers app) with
    their other conversations, the sections other apps register (tickets), and the
    agents' names on the notes. Ten queries at most, plus the registered sections'
    (two for tickets), whatever the number of orders, messages and conversations."""
    panel = customer_360(conversation.customer)
    panel.sections["conversations"] = customer_conversations(
        conversation.customer_id, exclude=conversation.pk, agent=agent
    )
    panel.sections.update(
        hooks.customer_panel_sections(customer_id=conversation.customer_id, agent=agent)
    )  # e.g. the tickets app's
    users = {note.author_id for note in panel.notes} | {
        note.last_edited_by_id for note in panel.notes
    }
    names = dict(
        Agent.objects.filter(user_id__in=users - {None}).values_list("user_id", "display_name")
    )
    for note in panel.notes:
        note.author_name = names.get(note.author_id) or _user_name(note.author)
        note.editor_name = names.get(note.last_edited_by_id) or _user_name(note.last_edited_by)
    return panel


def _user_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def unread_notice_count(agent) -> int:
    return Notice.objects.filter(agent=agent, read_at__isnull=True).count()


def agent_notices(agent, *, limit: int = 100):
    """The agent's own notices, newest first."""
    return Notice.objects.filter(agent=agent).order_by("-created_at", "-pk")[:limit]


def conversation_activity(*, customer_id: int, limit: int) -> list[dict]:
    """The customer's latest conversations as recent activity (the partner API's
    customer; registered in customers.hooks)."""
    return customer_hooks.latest_activity(
        Conversation.objects.filter(customer_id=customer_id),
        type="conversation",
        key="pk",
        limit=limit,
    )
