"""Reads of tickets that more than one caller needs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib.postgres.expressions import ArraySubquery
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import JSONObject
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.models import Conversation, SkillGroup
from customers.hooks import latest_activity
from customers.models import Customer
from tickets.models import (
    RUNNING,
    CollaborationRequest,
    Macro,
    Priority,
    SavedView,
    Ticket,
    TicketClock,
    TicketType,
    bigrams,
    breached_tickets,
    number_of,
    pk_of,
)

PANEL_TICKETS = 5
CUSTOMER_MATCHES = 1000  # customers whose name matches a search, at most


def customer_tickets(*, customer_id: int, agent=None) -> dict:
    """The customer's tickets for the 360° panel: the latest few with their type and clocks,
    and the counts (all, open), in two queries whatever their number. Registered as a panel
    section by TicketsConfig (`agent` is the viewer: every agent sees a customer's
    tickets in the panel, as they see the customer)."""
    latest = list(
        with_clocks(Ticket.objects.filter(customer_id=customer_id))
        .select_related("type")
        .order_by("-created_at")[:PANEL_TICKETS]
    )
    counts = Ticket.objects.filter(customer_id=customer_id).aggregate(
        total=Count("pk"), open=Count("pk", filter=Q(status__in=Ticket.OPEN_STATUSES))
    )
    return {"tickets": {"latest": latest, "count": counts["total"], "open": counts["open"]}}


def with_clocks(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """The tickets with their clocks read in the same query (a JSON array a ticket, which
    ticket.sla_clocks reads): for a few tickets shown where a query more counts."""
    rows = TicketClock.objects.filter(ticket_id=OuterRef("pk")).values(
        json=JSONObject(
            id="id",
            clock="clock",
            due="due",
            risk_at="risk_at",
            warned_at="warned_at",
            breached_at="breached_at",
            paused="paused",
            ticket_open="ticket_open",
        )
    )
    return tickets.annotate(clock_rows=ArraySubquery(rows))


def visible_tickets(agent) -> QuerySet[Ticket]:
    """What an agent may open: supervisors everything; agents the tickets assigned to
    them, those of their groups, those of no group yet, and those another team asked
    one of their groups about, while that request is open or accepted."""
    queryset = Ticket.objects.select_related(*RELATED)
    if agent.is_supervisor:
        return queryset
    groups = _group_ids(agent)
    asked = CollaborationRequest.objects.filter(
        to_group_id__in=groups, status__in=CollaborationRequest.ACTIVE_STATUSES
    ).values("ticket_id")
    return queryset.filter(
        Q(assignee_id=agent.pk)
        | Q(skill_group_id__in=groups)
        | Q(skill_group__isnull=True)
        | Q(pk__in=asked)
    )


class InvalidFilters(ValueError):
    """A saved filter set that is not one the list knows; the message says what is wrong."""


MY_GROUPS = "@mine"  # the group filter's "any of my groups" (no group code can be this)
SLA_FILTERS = ("breached", "at_risk", "due_soon")
ASSIGNEE_FILTERS = ("me", "none")
MAX_QUERY = 100
MIN_TEXT_QUERY = 2  # shorter text matches numbers only: one character is in half the subjects
LIST_ORDER = ("-priority", "created_at", "pk")  # most urgent first, then the oldest
RELATED = ("type", "customer", "skill_group", "assignee")  # what a list shows of a ticket


@dataclass(frozen=True)
class TicketFilters:
    """The ticket list's filters, from the query string; unknown values are ignored."""

    status: str = "open"  # a status, "open" (every open status) or "" (all)
    priority: int | None = None
    type: str = ""
    group: str = ""  # a group's code or MY_GROUPS
    assignee: str = ""  # "me", "none" or ""
    sla: str = ""  # "breached", "at_risk" (the policy's share used), "due_soon" (1 h) or ""
    level: str = ""
    q: str = ""

    @classmethod
    def from_query(cls, query) -> TicketFilters:
        status = query.get("status", "open")
        priority = query.get("priority", "")
        return cls(
            status=status if status in {"open", "", *Ticket.Status.values} else "open",
            priority=int(priority)
            if priority.isdecimal() and len(priority) < 4 and int(priority) in Priority.values
            else None,
            # A NUL is no character PostgreSQL's text can hold: dropped, not an error.
            type=query.get("type", "").replace("\x00", "")[:40],
            group=query.get("group", "").replace("\x00", "")[:40],
            assignee=query.get("assignee", "") if query.get("assignee") in ASSIGNEE_FILTERS else "",
            sla=query.get("sla", "") if query.get("sla") in SLA_FILTERS else "",
            level=query.get("level", "") if query.get("level") in Customer.Level.values else "",
            q=query.get("q", "").replace("\x00", "").strip()[:MAX_QUERY],
        )

    @classmethod
    def from_saved(cls, data) -> TicketFilters:
        """The filters of a saved view, strictly: unknown keys and values the list does not
        know (a type or group that does not exist) raise InvalidFilters with a message a
        person can act on. Values may be text, as a form sends them."""
        if not isinstance(data, dict):
            raise InvalidFilters(_("The filters must be a set of names and values."))
        unknown = sorted(set(data) - {field.name for field in fields(cls)}, key=str)
        if unknown:
            raise InvalidFilters(
                _("Unknown filter: %(names)s.") % {"names": ", ".join(map(str, unknown))[:200]}
            )
        values = {name: "" if value is None else value for name, value in data.items()}
        for name, value in values.items():
            if not isinstance(value, str | int) or isinstance(value, bool):
                raise InvalidFilters(_("The filter %(name)s must be text.") % {"name": name})
        text = {name: str(value).replace("\x00", "").strip() for name, value in values.items()}
        choices = {
            "status": {"open", "", *Ticket.Status.values},
            "priority": {"", *map(str, Priority.values)},
            "assignee": {"", *ASSIGNEE_FILTERS},
            "sla": {"", *SLA_FILTERS},
            "level": {"", *Customer.Level.values},
        }
        for name, allowed in choices.items():
            if name in text and text[name] not in allowed:
                raise InvalidFilters(
                    _("%(value)s is not a value of the filter %(name)s.")
                    % {"value": text[name][:40], "name": name}
                )
        if text.get("type") and not TicketType.objects.filter(code=text["type"]).exists():
            raise InvalidFilters(
                _("There is no ticket type %(code)s.") % {"code": text["type"][:40]}
            )
        group = text.get("group", "")
        if group and group != MY_GROUPS and not SkillGroup.objects.filter(code=group).exists():
            raise InvalidFilters(_("There is no group %(code)s.") % {"code": group[:40]})
        if len(text.get("q", "")) > MAX_QUERY:
            raise InvalidFilters(
                _("The search is too long (at most %(limit)d characters).") % {"limit": MAX_QUERY}
            )
        return cls.from_query(text)

    def as_query(self) -> dict[str, str]:
        """The query string of these filters: what differs from the default list."""
        query = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value != field.default:
                query[field.name] = "" if value is None else str(value)
        return query


def ticket_list(
    agent,
    filters: TicketFilters,
    *,
    now=None,
    common: bool = False,
    customers: list[int] | None = None,
) -> QuerySet[Ticket]:
    """The agent's visible tickets narrowed by `filters`, most urgent first, then oldest.

    Every filter has an index to go with it at a million tickets (see the Ticket model's
    indexes and docs/benchmarks.md); the search matches the number, the subject by
    its pairs of characters (an index of them) and customers' names. `common`: the
    search is known to match more than a page's count shows (see ticket_page);
    `customers`: the ids of the customers whose name matches it, when known
    (matching_customers), else the query finds them itself."""
    now = now or timezone.now()
    tickets = visible_tickets(agent)
    if filters.status == "open":
        tickets = tickets.filter(status__in=Ticket.OPEN_STATUSES)
    elif filters.status:
        tickets = tickets.filter(status=filters.status)
    if filters.priority:
        tickets = tickets.filter(priority=filters.priority)
    # A code is looked up in a scalar subquery: its id is then known before the tickets
    # are read, and the index of the group's open tickets gives them in order.
    if filters.type:
        tickets = tickets.filter(type_id=_id_of(TicketType, filters.type))
    if filters.group == MY_GROUPS:
        tickets = tickets.filter(skill_group_id__in=_group_ids(agent))
    elif filters.group:
        tickets = tickets.filter(skill_group_id=_id_of(SkillGroup, filters.group))
    if filters.assignee == "me":
        tickets = tickets.filter(assignee_id=agent.pk)
    elif filters.assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
    if filters.level:
        tickets = tickets.filter(
            customer_id__in=Customer.objects.filter(level=filters.level).values("pk")
        )
    # The SLA filters read the clocks' partial indexes (TicketClock): the tickets with a
    # breached clock, with a running clock past its at-risk time and not yet due, or
    # with one due within the hour.
    if filters.sla == "breached":
        open_only = filters.status in ("open", *Ticket.OPEN_STATUSES)
        tickets = tickets.filter(breached_tickets(open_only=open_only))
    elif filters.sla == "at_risk":
        at_risk = TicketClock.objects.filter(RUNNING, risk_at__lte=now, due__gt=now)
        tickets = tickets.filter(pk__in=at_risk.values("ticket_id"))
    elif filters.sla == "due_soon":
        soon = TicketClock.objects.filter(RUNNING, due__range=(now, now + timedelta(hours=1)))
        tickets = tickets.filter(pk__in=soon.values("ticket_id"))
    if filters.q:
        tickets = _search(
            tickets, filters.q, common=common, customers=customers, every_status=not filters.status
        )
    return tickets.order_by(*LIST_ORDER)


def _id_of(model, code: str) -> Subquery:
    return Subquery(model.objects.filter(code=code).values("pk")[:1])


def _group_ids(agent) -> QuerySet:
    return agent.skill_groups.through.objects.filter(agent_id=agent.pk).values("skillgroup_id")


class EqualsAny(Func):
    """`column = ANY(array)`: with an uncorrelated array subquery, PostgreSQL computes the
    array once and looks its values up in the column's index."""

    template = "(%(expressions)s))"
    arg_joiner = " = ANY("
    output_field = BooleanField()


class Contains(Func):
    """`column LIKE '%text%'` (the text's own % and _ escaped), ILIKE when the text has
    letters with a case. Not Django's icontains, UPPER(column) LIKE UPPER(…): UPPER of
    Chinese text is what a scan of names spends most on (20 ms at 100,000 customers
    against 7), and PostgreSQL has no statistics of UPPER(subject) to tell how many
    match (of the column itself it has them)."""

    template = "(%(expressions)s)"
    output_field = BooleanField()

    def __init__(self, column: str, text: str):
        self.arg_joiner = " LIKE " if text.upper() == text.lower() else " ILIKE "
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        super().__init__(F(column), Value(f"%{escaped}%"))


def matching_customers(q: str) -> list[int]:
    """The customers whose name contains `q` (at most CUSTOMER_MATCHES): a scan of the
    customers' names (7 ms at 100,000 customers, 20 for a text with letters), so done
    once per page."""
    if len(q) < MIN_TEXT_QUERY:
        return []
    return list(
        Customer.objects.filter(Contains("name", q))
        .order_by()
        .values_list("pk", flat=True)[:CUSTOMER_MATCHES]
    )


def _search(
    tickets: QuerySet[Ticket],
    q: str,
    *,
    common: bool,
    customers: list[int] | None,
    every_status: bool = False,
) -> QuerySet[Ticket]:
    """A ticket number, a piece of the subject, or a customer's name, in one query.

    The subject is found through the index of its character pairs (every pair of the
    search is in the subject: ticket_open_subject_bigrams, ticket_done_subject_bigrams),
    then matched exactly; the customers by name as a list of ids (or an array
    subquery, which PostgreSQL computes once), looked up in the index of tickets by
    customer: so the three are ORed index scans. A `common` search (more matches than the list counts)
    is read in the list's order instead, each row matched as it comes: the pairs'
    index would fetch every one of its tens of thousands of matches to sort them,
    the list's order finds a page of them within a few thousand rows."""
    pk = pk_of(q)
    text = Q(pk=pk) if pk else Q(pk__in=[])
    if len(q) < MIN_TEXT_QUERY:
        return tickets.filter(text)
    if customers is None:
        found = Customer.objects.filter(Contains("name", q)).order_by().values("pk")
        text |= Q(EqualsAny(F("customer_id"), ArraySubquery(found[:CUSTOMER_MATCHES])))
    elif customers:
        text |= Q(customer_id__in=customers)
    if common:
        return tickets.filter(text | Q(Contains("subject", q)))
    subject = Q(subject_bigrams__contains=bigrams(Value(q))) & Q(Contains("subject", q))
    if every_status:
        # The pairs are indexed for open tickets and for the others apart: each half of
        # the OR is what one of the two indexes holds.
        opened = Q(status__in=Ticket.OPEN_STATUSES)
        subject = (opened & subject) | (~opened & subject)
    text |= subject
    return tickets.alias(subject_bigrams=bigrams("subject")).filter(text)


@dataclass(frozen=True)
class TicketPage:
    """One page of the list with a capped count: counting every match of a million
    tickets costs more than the page itself, and nobody pages past a few thousand."""

    tickets: list
    number: int
    per_page: int
    count: int  # the matches, up to `cap`
    capped: bool  # more than `cap` match
    cap: int

    def __iter__(self):
        return iter(self.tickets)

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def has_other_pages(self) -> bool:
        return self.num_pages > 1

    def previous_page_number(self) -> int:
        return self.number - 1

    def next_page_number(self) -> int:
        return self.number + 1


LIST_COUNT_CAP = 10_000  # 200 pages of 50
SEARCH_COUNT_CAP = 1_000  # a search's matches are not browsed for long: 20 pages (a common
# word is in a tenth of a million subjects: counting them would be the page's whole cost)


def ticket_page(agent, filters: TicketFilters, number, *, per_page: int, now=None) -> TicketPage:
    """Page `number` (any text: what is not a page number is the first page, beyond the
    last the last) of the agent's list under `filters`, in a constant number of
    queries: two for a list (the count of up to LIST_COUNT_CAP + 1 matches, the page),
    three for a search (the customers by name, the ids of up to SEARCH_COUNT_CAP + 1
    matches, then the page: of those ids, or for a common search the list read in
    its order, see _search). A search's page is never left to PostgreSQL's guess of
    how many match: that guess is what makes it read a hundred thousand rows for
    fifty."""
    if not filters.q:
        tickets = ticket_list(agent, filters, now=now)
        found = tickets.order_by().values("pk")[: LIST_COUNT_CAP + 1].count()
        return _page(tickets, number, per_page=per_page, found=found, cap=LIST_COUNT_CAP)
    customers = matching_customers(filters.q)
    matches = ticket_list(agent, filters, now=now, customers=customers)
    ids = list(matches.order_by().values_list("pk", flat=True)[: SEARCH_COUNT_CAP + 1])
    if len(ids) > SEARCH_COUNT_CAP:
        tickets = ticket_list(agent, filters, now=now, common=True, customers=customers)
    else:
        tickets = visible_tickets(agent).filter(pk__in=ids).order_by(*LIST_ORDER)
    return _page(tickets, number, per_page=per_page, found=len(ids), cap=SEARCH_COUNT_CAP)


def _page(tickets: QuerySet[Ticket], number, *, per_page: int, found: int, cap: int) -> TicketPage:
    count = min(found, cap)
    pages = max(1, -(-count // per_page))
    number = int(number) if str(number or "").isdecimal() and len(str(number)) < 10 else 1
    number = min(max(number, 1), pages)
    offset = (number - 1) * per_page
    # The page's ids first (the index alone), then those rows with their customer,
    # type, group and assignee: a deep page joins 50 rows, not all it skipped.
    shown = tickets.values("pk")[offset : offset + per_page]
    rows = (
        Ticket.objects.select_related(*RELATED)
        .prefetch_related("clocks")  # the due time each row shows
        .filter(pk__in=shown)
        .order_by(*LIST_ORDER)
    )
    return TicketPage(
        tickets=list(rows),
        number=number,
        per_page=per_page,
        count=count,
        capped=found > cap,
        cap=cap,
    )


# --- saved views ----------------------------------------------------------------


@dataclass(frozen=True)
class ListView:
    """A tab above the list: a built-in view or a saved one, with its filters."""

    name: str
    filters: TicketFilters
    saved: SavedView | None = None
    key: str = ""

    @property
    def query(self) -> str:
        return urlencode(self.filters.as_query())


def builtin_views() -> list[ListView]:
    """The views every agent has: their open tickets, the unassigned ones of their groups,
    the breached ones and those due within the hour (all open)."""
    return [
        ListView(_("My open tickets"), TicketFilters(assignee="me"), key="mine"),
        ListView(
            _("Unassigned in my groups"),
            TicketFilters(assignee="none", group=MY_GROUPS),
            key="unassigned",
        ),
        ListView(_("Breached"), TicketFilters(sla="breached"), key="breached"),
        ListView(_("Due within the hour"), TicketFilters(sla="due_soon"), key="due_soon"),
    ]


def saved_views(agent) -> QuerySet[SavedView]:
    """The saved views an agent sees: their own, those shared with everyone, and those
    shared with a group they are in; their own first, each in its position."""
    return (
        SavedView.objects.filter(
            Q(owner=agent)
            | Q(scope=SavedView.Scope.EVERYONE)
            | Q(scope=SavedView.Scope.GROUP, skill_group_id__in=_group_ids(agent))
        )
        .select_related("owner", "skill_group")
        .annotate(is_mine=Case(When(owner=agent, then=Value(0)), default=Value(1)))
        .order_by("is_mine", "position", "name", "pk")
    )


def list_views(agent) -> list[ListView]:
    """The built-in views, then the saved ones the agent sees (one query)."""
    return builtin_views() + [
        ListView(view.name, TicketFilters.from_query(view.query), saved=view, key=str(view.pk))
        for view in saved_views(agent)
    ]


VIEW_COUNT_CAP = 999
VIEW_COUNTS_TTL = 30  # seconds


def view_counts(agent, views: list[ListView], *, now=None) -> list[int]:
    """How many tickets each view shows, up to VIEW_COUNT_CAP + 1 (a tab shows "999+"),
    in ONE query whatever the number of views — a capped count per view as a scalar
    subquery, each using its own index — and kept VIEW_COUNTS_TTL seconds per agent and
    set of views (an agent's own bulk change forgets them: forget_view_counts)."""
    if not views:
        return []
    digest = hashlib.sha256(
        repr([sorted(view.filters.as_query().items()) for view in views]).encode()
    ).hexdigest()[:16]
    key = _counts_key(agent)
    cached = cache.get(key)
    if cached and cached[0] == digest:
        return cached[1]
    parts, params = [], []
    for view in views:
        counted = ticket_list(agent, view.filters, now=now).order_by().values("pk")
        sql, sql_params = counted[: VIEW_COUNT_CAP + 1].query.sql_with_params()
        parts.append(f"(SELECT count(*) FROM ({sql}) AS counted)")  # noqa: S608 (Django's SQL)
        params.extend(sql_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)  # noqa: S608
        counts = list(cursor.fetchone())
    cache.set(key, (digest, counts), VIEW_COUNTS_TTL)
    return counts


def forget_view_counts(agent) -> None:
    cache.delete(_counts_key(agent))


def _counts_key(agent) -> str:
    return f"tickets:view-counts:{agent.pk}"


def available_macros(agent) -> QuerySet[Macro]:
    """The active macros an agent may apply: those for every agent and those of the
    agent's groups (supervisors: all), in their order."""
    macros = Macro.objects.filter(is_active=True).order_by("position", "pk")
    if agent.is_supervisor:
        return macros
    groups = agent.skill_groups.through.objects.filter(agent_id=agent.pk).values("skillgroup_id")
    mine = Macro.skill_groups.through.objects.filter(skillgroup_id__in=groups).values("macro_id")
    return macros.filter(Q(skill_groups__isnull=True) | Q(pk__in=mine)).distinct()


def ticket_automation(agent, ticket: Ticket) -> dict:
    """What the ticket page shows of automation: the macros the agent may apply and the
    confirmation the ticket waits for, if any."""
    return {
        "macros": list(available_macros(agent)),
        "awaiting_confirmation": ticket.confirmation_requests.filter(
            answered_at__isnull=True
        ).first(),
    }


def partner_tickets() -> QuerySet[Ticket]:
    """Every ticket, with what the partner API shows of it: type, customer, group,
    assignee and SLA policy joined, the conversations' ids and the clocks prefetched —
    three queries for a page of any size. The partner (a key with the tickets scope) sees all tickets."""
    return Ticket.objects.select_related(
        "type", "customer", "skill_group", "assignee", "sla_policy"
    ).prefetch_related(
        Prefetch("conversations", queryset=Conversation.objects.only("id").order_by("created_at")),
        "clocks",
    )


# --- collaboration requests ------------------------------------------------------------

REQUESTS_SENT = 50


def _requests() -> QuerySet[CollaborationRequest]:
    return CollaborationRequest.objects.select_related("ticket", "from_agent", "to_group", "owner")


def visible_requests(agent) -> QuerySet[CollaborationRequest]:
    """The requests an agent may open and act on: supervisors all; agents those they sent,
    those to their groups, and those on tickets they may see."""
    if agent.is_supervisor:
        return _requests()
    groups = agent.skill_groups.through.objects.filter(agent_id=agent.pk).values("skillgroup_id")
    return _requests().filter(
        Q(from_agent_id=agent.pk)
        | Q(to_group_id__in=groups)
        | Q(ticket_id__in=visible_tickets(agent).values("pk"))
    )


def requests_for_my_groups(agent) -> QuerySet[CollaborationRequest]:
    """Open and accepted requests to the agent's groups, the most overdue first."""
    groups = agent.skill_groups.through.objects.filter(agent_id=agent.pk).values("skillgroup_id")
    return (
        _requests()
        .filter(to_group_id__in=groups, status__in=CollaborationRequest.ACTIVE_STATUSES)
        .order_by("due_at", "pk")
    )


def requests_sent_by(agent, *, limit: int = REQUESTS_SENT) -> QuerySet[CollaborationRequest]:
    """The agent's own requests, open ones first, then the latest."""
    return (
        _requests()
        .filter(from_agent_id=agent.pk)
        .order_by(
            Case(
                When(status__in=CollaborationRequest.ACTIVE_STATUSES, then=0),
                default=1,
            ),
            "-created_at",
            "-pk",
        )[:limit]
    )


def waiting_request_count(agent) -> int:
    """How many requests wait on the agent's groups (the tickets list's link says it)."""
    return requests_for_my_groups(agent).count()


def ticket_requests(ticket: Ticket) -> list[CollaborationRequest]:
    """A ticket's requests, open ones first, then the latest."""
    return list(
        _requests()
        .filter(ticket=ticket)
        .order_by(
            Case(
                When(status__in=CollaborationRequest.ACTIVE_STATUSES, then=0),
                default=1,
            ),
            "-created_at",
            "-pk",
        )
    )


def complaint_facts(*, rule, since, customer_ids) -> dict:
    """Complaints per customer in the window, for the automatic tag rules
    (customers.hooks): complaint tickets, and chats in which the bot understood a
    complaint (an intent coded `complaint`) that did not become one of those tickets."""
    from decimal import Decimal

    from conversations.models import Message

    ticket = Ticket._meta
    links = Ticket.conversations.through._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH complaint_tickets AS (
                SELECT t.id, t.customer_id FROM {ticket.db_table} t
                JOIN {TicketType._meta.db_table} ty ON ty.id = t.type_id
                WHERE ty.code = 'complaint' AND t.created_at >= %(since)s
                  AND (%(ids)s::bigint[] IS NULL OR t.customer_id = ANY(%(ids)s::bigint[]))
            ),
            complaint_chats AS (
                SELECT DISTINCT c.id, c.customer_id FROM {Conversation._meta.db_table} c
                JOIN {Message._meta.db_table} m ON m.conversation_id = c.id
                WHERE c.created_at >= %(since)s AND m.sender = 'bot'
                  AND m.meta->>'intent' = 'complaint'
                  AND (%(ids)s::bigint[] IS NULL OR c.customer_id = ANY(%(ids)s::bigint[]))
                  AND NOT EXISTS (SELECT 1 FROM {links} l JOIN complaint_tickets ct
                                  ON ct.id = l.ticket_id WHERE l.conversation_id = c.id)
            )
            SELECT customer_id, count(*) FROM (
                SELECT customer_id FROM complaint_tickets
                UNION ALL SELECT customer_id FROM complaint_chats
            ) AS complaints GROUP BY customer_id
            """,  # noqa: S608 (constant table names)
            {"since": since, "ids": None if customer_ids is None else list(customer_ids)},
        )
        return {row[0]: Decimal(row[1]) for row in cursor.fetchall()}


def ticket_activity(*, customer_id: int, limit: int) -> list[dict]:
    """The customer's latest tickets as recent activity (the partner API's customer;
    registered in customers.hooks)."""
    return latest_activity(
        Ticket.objects.filter(customer_id=customer_id),
        type="ticket",
        key="pk",
        limit=limit,
        label=number_of,
    )


def ticket_cards(ids: list, agent) -> dict:
    """The team rooms' live cards of these tickets (T-000123 in a message, a ticket event)
    that the agent may open: {id: card} (conversations.rooms.cards)."""
    wanted = [pk for pk in ids if isinstance(pk, int) and not isinstance(pk, bool)]
    return {
        ticket.pk: {
            "kind": "ticket",
            "title": f"{ticket.number} {ticket.subject}",
            "subtitle": ticket.type.name if ticket.type_id else "",
            "status": ticket.get_status_display(),
            "assignee": ticket.assignee.display_name if ticket.assignee_id else "",
            "url": reverse("tickets:detail", args=[ticket.pk]),
        }
        for ticket in visible_tickets(agent).filter(pk__in=wanted)
    }
