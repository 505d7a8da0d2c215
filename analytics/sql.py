# ruff: noqa: S608 (the statements are built from constants only; values are parameters)
"""The metrics of docs/metrics.md as SQL, set-based: one statement computes every figure
of a window of hours from the raw tables, per hour and combination of dimensions.

The rollup job inserts what `HOURLY_SQL` returns; the dashboards run the very same
statement for today's hours, so the live figures are the ones the rollup later stores.
`CONVERSATION_FACTS` (one row per conversation, with its flags) is also what the
drill-down lists read, so a chart's number and the list behind it cannot disagree.

Parameters: %(start)s and %(end)s (the window, whole hours, UTC), %(now)s (where open
stretches — an agent still online, a conversation still assigned — end)."""

from analytics.models import COUNTERS, HISTOGRAM_BOUNDS, HISTOGRAM_SIZE, HISTOGRAMS

BOUNDS = "ARRAY[{}]::float8[]".format(", ".join(str(b) for b in HISTOGRAM_BOUNDS))


def _ms(expression: str) -> str:
    return f"(EXTRACT(EPOCH FROM ({expression})) * 1000)::bigint"


# Every non-system message of the window's conversations with what the rest of the
# conversation says about it: the sender before it, the first agent and bot messages after
# it (for response times), the message after it (a fallback answering a question).
# Read a conversation at a time (LATERAL, the window functions keep it from being
# flattened into a join): its messages through the index on conversation_id, whatever
# the planner guesses. As a plain join, a window of a week was guessed at 45 messages a
# conversation and read all ten million messages in a hash join (15 s of 20).
_MESSAGES = """
msg AS (
    SELECT m.*
      FROM conv CROSS JOIN LATERAL (
        SELECT m.conversation_id, m.seq, m.sender, m.body, m.created_at,
               m.meta ->> 'action' AS action, m.meta ->> 'intent' AS intent,
               m.meta ->> 'article' AS article, m.meta ->> 'helpful' AS helpful,
               lag(m.sender) OVER fwd AS prev_sender,
               lead(m.sender) OVER fwd AS next_sender,
               lead(m.meta ->> 'action') OVER fwd AS next_action,
               min(m.created_at) FILTER (WHERE m.sender = 'agent') OVER rev AS next_agent_at,
               min(m.created_at) FILTER (WHERE m.sender = 'bot') OVER rev AS next_bot_at,
               min(m.created_at) FILTER (WHERE m.sender = 'customer') OVER whole
                   AS first_customer_at
          FROM conversations_message m
         WHERE m.conversation_id = conv.id AND m.sender <> 'system'
        WINDOW fwd AS (ORDER BY m.seq),
               rev AS (ORDER BY m.seq DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
               whole AS ()
      ) m
),
per_conv AS (
    SELECT conversation_id,
           count(*) FILTER (WHERE sender = 'customer') AS customer_messages,
           min(first_customer_at) AS first_customer_at,
           min(created_at) FILTER (WHERE sender = 'bot' AND created_at >= first_customer_at)
               AS first_bot_reply_at,
           min(created_at) FILTER (WHERE sender = 'agent') AS first_agent_at,
           (array_agg(action ORDER BY seq DESC) FILTER (WHERE sender = 'bot'))[1]
               AS last_bot_action,
           coalesce(bool_or(sender = 'bot' AND helpful = 'false'), false) AS unhelpful
      FROM msg
  GROUP BY conversation_id
)"""

# The conversations started in the window, with their dimensions.
_CONVERSATIONS = """
conv AS (
    SELECT c.id, c.customer_id, c.created_at, date_trunc('hour', c.created_at) AS hour,
           c.channel, coalesce(c.skill_group_id, 0) AS skill_group_id,
           coalesce(c.assignee_id, 0) AS agent_id,
           -- A lookup per conversation: a join would hash the whole customers table.
           (SELECT cu.level FROM customers_customer cu WHERE cu.id = c.customer_id)
               AS customer_level,
           c.language, c.status, c.resolution, c.queued_at, c.assigned_at, c.closed_at,
           c.transfer_count, c.tags, c.handoff_reason
      FROM conversations_conversation c
     WHERE c.created_at >= %(start)s AND c.created_at < %(end)s
)"""

# One row per conversation of the window: its flags and durations (docs/metrics.md).
CONVERSATION_FACTS = f"""
{_CONVERSATIONS},
{_MESSAGES},
base AS (
    SELECT conv.*, pc.customer_messages, pc.first_customer_at, pc.first_bot_reply_at,
           pc.first_agent_at, pc.last_bot_action, pc.unhelpful,
           (coalesce(pc.customer_messages, 0) > 0 AND conv.resolution <> 'spam') AS counted
      FROM conv LEFT JOIN per_conv pc ON pc.conversation_id = conv.id
),
flags AS (
    SELECT base.*,
           counted AND queued_at IS NULL AND resolution NOT IN ('not_resolved', 'left_message')
               AND last_bot_action IS NOT NULL AND last_bot_action <> 'fallback'
               AND NOT unhelpful AS bot_resolved
      FROM base
),
facts AS (
    SELECT flags.*,
           counted AND (resolution = 'resolved' OR bot_resolved) AS resolved,
           counted AND queued_at IS NULL AND resolution <> 'left_message' AS bot_only,
           counted AND queued_at IS NOT NULL AS handed_off,
           counted AND queued_at IS NOT NULL AND first_agent_at IS NOT NULL AS handoff_answered,
           counted AND queued_at IS NOT NULL AND first_agent_at IS NULL AS handoff_unanswered,
           counted AND resolution = 'left_message' AS left_message,
           counted AND transfer_count > 0 AS transferred,
           counted AND (resolution = 'resolved' OR bot_resolved) AND transfer_count = 0
               AND NOT EXISTS (
                   SELECT 1 FROM tickets_ticket_conversations tc
                    WHERE tc.conversation_id = flags.id)
               AND NOT EXISTS (
                   SELECT 1 FROM conversations_conversation later
                    WHERE later.customer_id = flags.customer_id
                      AND later.created_at > flags.created_at
                      AND later.created_at <= flags.created_at + interval '24 hours')
               AS fcr,
           counted AND EXISTS (
                   SELECT 1 FROM conversations_conversation earlier
                    WHERE earlier.customer_id = flags.customer_id
                      AND earlier.created_at < flags.created_at
                      AND earlier.created_at >= flags.created_at - interval '7 days')
               AS repeat_contact,
           CASE WHEN counted AND first_bot_reply_at IS NOT NULL
                THEN {_ms("first_bot_reply_at - first_customer_at")} END AS frt_bot_ms,
           CASE WHEN counted AND queued_at IS NOT NULL AND first_agent_at IS NOT NULL
                THEN greatest(0, {_ms("first_agent_at - queued_at")}) END AS frt_human_ms,
           CASE WHEN counted AND queued_at IS NOT NULL AND assigned_at IS NOT NULL
                THEN greatest(0, {_ms("assigned_at - queued_at")}) END AS wait_ms,
           CASE WHEN counted AND assigned_at IS NOT NULL AND closed_at IS NOT NULL
                THEN greatest(0, {_ms("closed_at - assigned_at")}) END AS handle_ms
      FROM flags
)"""

# Every customer turn (a customer message after someone else spoke) and the next reply.
_TURNS = f"""
turns AS (
    SELECT msg.conversation_id,
           {_ms("least(next_agent_at, next_bot_at) - msg.created_at")} AS ms,
           (next_agent_at IS NOT NULL AND (next_bot_at IS NULL OR next_agent_at <= next_bot_at))
               AS by_agent
      FROM msg
     WHERE msg.sender = 'customer' AND msg.prev_sender IS DISTINCT FROM 'customer'
       AND coalesce(next_agent_at, next_bot_at) IS NOT NULL
)"""

_DIMS = "channel, skill_group_id, agent_id, customer_level, language"


def _bucket(ms: str) -> str:
    return f"width_bucket(({ms}) / 1000.0, {BOUNDS})"


# Each part: (FROM … clause yielding `hour` and the dimensions, {counter: expression}).
_PARTS = [
    (
        "hour",
        _DIMS,
        "facts",
        {
            "conversations": "counted::int",
            "spam": "(resolution = 'spam')::int",
            "customer_messages": "CASE WHEN counted THEN customer_messages ELSE 0 END",
            "bot_only": "bot_only::int",
            "bot_resolved": "bot_resolved::int",
            "handoffs": "handed_off::int",
            "handoffs_answered": "handoff_answered::int",
            "left_message": "left_message::int",
            "resolved": "resolved::int",
            "fcr": "fcr::int",
            "repeat_contacts": "repeat_contact::int",
            "transferred": "transferred::int",
            "transfers": "CASE WHEN counted THEN transfer_count ELSE 0 END",
            "frt_bot_count": "(frt_bot_ms IS NOT NULL)::int",
            "frt_bot_ms": "coalesce(frt_bot_ms, 0)",
            "frt_human_count": "(frt_human_ms IS NOT NULL)::int",
            "frt_human_ms": "coalesce(frt_human_ms, 0)",
            "wait_count": "(wait_ms IS NOT NULL)::int",
            "wait_ms": "coalesce(wait_ms, 0)",
            "handle_count": "(handle_ms IS NOT NULL)::int",
            "handle_ms": "coalesce(handle_ms, 0)",
            "@frt_human_hist": f"CASE WHEN frt_human_ms IS NOT NULL THEN {_bucket('frt_human_ms')} END",
        },
    ),
    (
        "facts.hour",
        ", ".join(f"facts.{name}" for name in _DIMS.split(", ")),
        """turns JOIN facts ON facts.id = turns.conversation_id AND facts.resolution <> 'spam'""",
        {
            "resp_agent_count": "by_agent::int",
            "resp_agent_ms": "CASE WHEN by_agent THEN ms ELSE 0 END",
            "resp_bot_count": "(NOT by_agent)::int",
            "resp_bot_ms": "CASE WHEN by_agent THEN 0 ELSE ms END",
            "@resp_agent_hist": f"CASE WHEN by_agent THEN {_bucket('ms')} END",
        },
    ),
]

# Facts timed by their own event (a survey answered, a ticket resolved): the hour is the
# event's, the dimensions those of the conversation or ticket they belong to.
_CONVERSATION_DIMS = """c.channel, coalesce(c.skill_group_id, 0), coalesce(c.assignee_id, 0),
       cu.level, c.language"""
_TICKET_DIMS = """''::varchar, coalesce(t.skill_group_id, 0), coalesce(t.assignee_id, 0),
       cu.level, cu.language"""
_CUSTOMER_DIMS = "''::varchar, 0, 0, cu.level, cu.language"
_CONV_JOIN = """JOIN conversations_conversation c ON c.id = {alias}.conversation_id
  JOIN customers_customer cu ON cu.id = c.customer_id"""
_TICKET_JOIN = "JOIN customers_customer cu ON cu.id = t.customer_id"


def _clock_met(clock: str, stopped: str) -> str:
    """The ticket has this clock, and it was not breached before `stopped`."""
    return f"""EXISTS (SELECT 1 FROM tickets_ticketclock k
              WHERE k.ticket_id = t.id AND k.clock = '{clock}'
                AND (k.breached_at IS NULL OR k.breached_at > {stopped}))::int"""


def _has_clock(clock: str) -> str:
    return f"""EXISTS (SELECT 1 FROM tickets_ticketclock k
              WHERE k.ticket_id = t.id AND k.clock = '{clock}')::int"""


def _event(table: str, alias: str, time: str, dims: str, joins: str, counters: dict, where=""):
    return (
        f"date_trunc('hour', {alias}.{time})",
        dims,
        f"{table} {alias} {joins}\n WHERE {alias}.{time} >= %(start)s "
        f"AND {alias}.{time} < %(end)s {where}",
        counters,
    )


_EVENT_PARTS = [
    _event(
        "conversations_survey",
        "s",
        "created_at",
        _CONVERSATION_DIMS,
        _CONV_JOIN.format(alias="s"),
        {"surveys_sent": "1"},
    ),
    _event(
        "conversations_survey",
        "s",
        "answered_at",
        _CONVERSATION_DIMS,
        _CONV_JOIN.format(alias="s"),
        {
            "surveys_answered": "(s.score IS NOT NULL)::int",
            "surveys_positive": "(s.score >= 4)::int",
            "survey_score_sum": "coalesce(s.score, 0)",
        },
    ),
    _event(
        "tickets_ticket",
        "t",
        "created_at",
        _TICKET_DIMS,
        _TICKET_JOIN,
        {"tickets_created": "1"},
    ),
    _event(
        "tickets_ticket",
        "t",
        "resolved_at",
        _TICKET_DIMS,
        _TICKET_JOIN,
        {
            "tickets_resolved": "1",
            "ticket_resolution_ms": f"greatest(0, {_ms('t.resolved_at - t.created_at')})",
            "sla_resolution_total": _has_clock("resolution"),
            "sla_resolution_met": _clock_met("resolution", "t.resolved_at"),
        },
    ),
    _event(
        "tickets_ticket",
        "t",
        "first_responded_at",
        _TICKET_DIMS,
        _TICKET_JOIN,
        {
            "sla_first_response_total": _has_clock("first_response"),
            "sla_first_response_met": _clock_met("first_response", "t.first_responded_at"),
        },
    ),
    _event(
        "tickets_ticketevent",
        "e",
        "created_at",
        _TICKET_DIMS,
        "JOIN tickets_ticket t ON t.id = e.ticket_id " + _TICKET_JOIN,
        {"tickets_reopened": "1"},
        where="AND e.field = 'status' AND e.new = 'reopened'",
    ),
    _event(
        "tickets_ticketclock",
        "kc",
        "breached_at",
        _TICKET_DIMS,
        "JOIN tickets_ticket t ON t.id = kc.ticket_id " + _TICKET_JOIN,
        {"sla_next_response_breached": "1"},
        where="AND kc.clock = 'next_response'",
    ),
    _event(
        "customers_recommendation",
        "r",
        "shown_at",
        _CONVERSATION_DIMS,
        _CONV_JOIN.format(alias="r"),
        {"recommendations_shown": "1"},
    ),
    _event(
        "customers_recommendation",
        "r",
        "first_clicked_at",
        _CONVERSATION_DIMS,
        _CONV_JOIN.format(alias="r"),
        {"recommendations_clicked": "1"},
    ),
    _event(
        "customers_recommendation",
        "r",
        "converted_at",
        _CONVERSATION_DIMS,
        _CONV_JOIN.format(alias="r"),
        {"recommendations_converted": "1"},
    ),
    _event(
        "customers_coupon",
        "p",
        "issued_at",
        _CUSTOMER_DIMS,
        "JOIN customers_customer cu ON cu.id = p.customer_id",
        {"coupons_issued": "1"},
    ),
    _event(
        "customers_coupon",
        "p",
        "redeemed_at",
        _CUSTOMER_DIMS,
        "JOIN customers_customer cu ON cu.id = p.customer_id",
        {"coupons_redeemed": "1"},
    ),
]

# Agents' online time and the part of it with at least one conversation assigned, per
# hour: the status log's online stretches and the conversations' assigned stretches as
# multiranges, intersected with each hour.
BUSY_LOOKBACK = "2 days"
_PRESENCE = f"""(
    WITH hours AS (
        SELECT h AS hour, tstzmultirange(tstzrange(h, h + interval '1 hour')) AS span
          FROM generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 hour',
                               interval '1 hour') h
    ),
    online AS (
        SELECT agent_id, range_agg(tstzrange(started_at, coalesce(ended_at, %(now)s))) AS mr
          FROM conversations_agentstatuslog
         WHERE status = 'online' AND started_at < %(end)s AND started_at < %(now)s
           AND (ended_at IS NULL OR ended_at > %(start)s)
      GROUP BY agent_id
    ),
    busy AS (
        SELECT assignee_id AS agent_id,
               range_agg(tstzrange(assigned_at, coalesce(closed_at, %(now)s))) AS mr
          FROM conversations_conversation
         WHERE assignee_id IS NOT NULL AND assigned_at < %(end)s
           AND assigned_at < coalesce(closed_at, %(now)s)
           AND coalesce(closed_at, %(now)s) > %(start)s
           -- Read by start time (an index), from BUSY_LOOKBACK before the window: a
           -- conversation held longer counts from then on (docs/metrics.md).
           AND created_at >= %(start)s::timestamptz - interval '{BUSY_LOOKBACK}'
           AND created_at < %(end)s
      GROUP BY assignee_id
    ),
    spans AS (
        SELECT hours.hour, online.agent_id, online.mr * hours.span AS on_mr,
               online.mr * hours.span * coalesce(busy.mr, '{{}}'::tstzmultirange) AS busy_mr
          FROM hours CROSS JOIN online LEFT JOIN busy ON busy.agent_id = online.agent_id
    )
    SELECT hour, agent_id,
           (SELECT coalesce(sum({_ms("upper(r) - lower(r)")}), 0) FROM unnest(on_mr) r) AS on_ms,
           (SELECT coalesce(sum({_ms("upper(r) - lower(r)")}), 0) FROM unnest(busy_mr) r)
               AS busy_ms
      FROM spans WHERE NOT isempty(on_mr)
) ev"""

_PRESENCE_PART = (
    "ev.hour",
    "''::varchar, 0, ev.agent_id, ''::varchar, ''::varchar",
    _PRESENCE,
    {"online_ms": "ev.on_ms", "busy_ms": "ev.busy_ms"},
)


def _select(hour: str, dims: str, source: str, counters: dict) -> str:
    columns = [f"({counters.get(name, '0')})::bigint AS {name}" for name in COUNTERS]
    columns += [f"({counters.get('@' + name, 'NULL')})::int AS {name}" for name in HISTOGRAMS]
    return f"SELECT {hour} AS hour, {dims}, {', '.join(columns)}\n  FROM {source}"


def _histogram(name: str) -> str:
    buckets = ", ".join(
        f"count(*) FILTER (WHERE {name} = {index})" for index in range(HISTOGRAM_SIZE)
    )
    return f"ARRAY[{buckets}]::bigint[] AS {name}"


_UNION = "\nUNION ALL\n".join(_select(*part) for part in [*_PARTS, *_EVENT_PARTS, _PRESENCE_PART])

# Per hour and combination of dimensions, every counter of the window.
HOURLY_SQL = f"""
WITH {CONVERSATION_FACTS},
{_TURNS},
everything AS (
{_UNION}
)
SELECT hour, {_DIMS},
       {", ".join(f"sum({name})::bigint AS {name}" for name in COUNTERS)},
       {_histogram("frt_human_hist")}, {_histogram("resp_agent_hist")}
  FROM everything
 GROUP BY hour, {_DIMS}
"""  # noqa: S608 (no value is formatted in: constants only)

# How many conversations of each hour touched each topic. The branches name the
# conversation only; its hour (and whether it counts) comes from the one join at the end:
# a branch joined to `conv` on its own was planned as a nested loop whenever PostgreSQL
# guessed one row for a filter of the `msg` CTE (it has no statistics for a CTE), which
# made a week's rollup quadratic — 255 million comparisons for the unanswered questions.
TOPICS_SQL = f"""
WITH {_CONVERSATIONS},
{_MESSAGES},
topics AS (
    SELECT 'intent' AS kind, msg.intent AS key, msg.conversation_id
      FROM msg
     WHERE msg.sender = 'bot' AND msg.intent IS NOT NULL AND msg.intent <> ''
    UNION ALL
    SELECT 'article', msg.article, msg.conversation_id
      FROM msg
     WHERE msg.sender = 'bot' AND msg.article IS NOT NULL AND msg.article <> ''
    UNION ALL
    SELECT 'tag', tag, conv.id FROM conv, unnest(conv.tags) tag
    UNION ALL
    SELECT 'handoff', conv.handoff_reason, conv.id FROM conv
     WHERE conv.queued_at IS NOT NULL AND conv.handoff_reason <> ''
    UNION ALL
    SELECT 'unanswered', left(lower(btrim(msg.body)), 120), msg.conversation_id
      FROM msg
     WHERE msg.sender = 'customer' AND msg.next_sender = 'bot'
       AND msg.next_action = 'fallback' AND btrim(msg.body) <> ''
)
SELECT conv.hour, topics.kind, left(topics.key, 120) AS key,
       count(DISTINCT topics.conversation_id) AS conversations
  FROM topics JOIN conv ON conv.id = topics.conversation_id
 WHERE conv.resolution <> 'spam'
 GROUP BY conv.hour, topics.kind, left(topics.key, 120)
"""

# The sums of rollup rows, column by column (histograms bucket by bucket): a day from its
# hours, a range from its days.
ROLLUP_SUMS = ", ".join(
    [f"sum({name})::bigint" for name in COUNTERS]
    + [
        "ARRAY[{}]::bigint[]".format(
            ", ".join(f"coalesce(sum({name}[{i}]), 0)" for i in range(1, HISTOGRAM_SIZE + 1))
        )
        for name in HISTOGRAMS
    ]
)
