"""Notices to agents: made once per (agent, key), in both languages, shown live."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import override

from conversations import events
from conversations.models import Agent, Notice
from helpdesk.realtime import publish_all_on_commit

MAX_TEXT = 500


def notice_payload(notice: Notice) -> dict:
    return {
        "id": notice.pk,
        "kind": notice.kind,
        "text_zh": notice.text_zh,
        "text_en": notice.text_en,
        "url": notice.url,
        "created_at": notice.created_at.isoformat() if notice.created_at else None,
    }


@dataclass(frozen=True)
class Draft:
    """One notice to make: for these agents, once per (agent, key)."""

    agents: Iterable[Agent | int]
    kind: str
    key: str
    text: Callable[[], str]
    url: str = ""


def notify(
    *,
    agents: Iterable[Agent | int],
    kind: str,
    key: str,
    text: Callable[[], str],
    url: str = "",
) -> list[Notice]:
    """Tell these agents something, once: an agent who already has a notice with this
    `key` gets nothing new (a retried job, a second worker). `text()` is called once per
    language, so it is written with gettext as any other message. Each new notice is sent
    to every desk of its agent after commit. Returns the notices made."""
    return notify_many([Draft(agents=agents, kind=kind, key=key, text=text, url=url)])


def notify_many(drafts: Iterable[Draft]) -> list[Notice]:
    """`notify` for many notices at once, in a fixed number of queries (a batch job)."""
    rows: list[Notice] = []
    with override("zh-hans"):
        zh = [(draft, str(draft.text())[:MAX_TEXT]) for draft in drafts]
    with override("en"):
        texts = [(draft, text_zh, str(draft.text())[:MAX_TEXT]) for draft, text_zh in zh]
    for draft, text_zh, text_en in texts:
        agent_ids = sorted({a if isinstance(a, int) else a.pk for a in draft.agents if a})
        rows += [
            Notice(
                agent_id=agent_id,
                kind=draft.kind,
                key=draft.key[:200],
                text_zh=text_zh,
                text_en=text_en,
                url=draft.url,
            )
            for agent_id in agent_ids
        ]
    if not rows:
        return []
    with transaction.atomic():
        had = set(
            Notice.objects.filter(
                agent_id__in={row.agent_id for row in rows}, key__in={row.key for row in rows}
            ).values_list("agent_id", "key")
        )
        new, seen = [], set(had)
        for row in rows:
            if (row.agent_id, row.key) not in seen:
                seen.add((row.agent_id, row.key))
                new.append(row)
        made = Notice.objects.bulk_create(
            new,
            # A notice a concurrent run made in between is left as it is (and comes back
            # with its id), never a second row or an error that undoes the caller's work.
            update_conflicts=True,
            unique_fields=["agent", "key"],
            update_fields=["kind"],
        )
        publish_notices([{**notice_payload(notice), "agent": notice.agent_id} for notice in made])
    return made


def publish_notices(notices: list[dict]) -> None:
    """Send new notices (their payloads, with `agent`, and `count` when one stands for
    several) to their agents' desks after commit: one frame per agent, the first of theirs
    with how many they got — a batch job's thousand notices are one toast, and the badge
    counts them all."""
    first: dict[int, dict] = {}
    count: dict[int, int] = defaultdict(int)
    for notice in notices:
        agent_id = notice["agent"]
        first.setdefault(agent_id, notice)
        count[agent_id] += notice.get("count", 1)
    items = []
    for agent_id, notice in first.items():
        payload = {key: value for key, value in notice.items() if key != "agent"}
        payload["count"] = count[agent_id]
        items.append((events.agent_group(agent_id), events.notice_event(payload)))
    if items:
        publish_all_on_commit(items)


def mark_notices_read(*, agent: Agent, notice_ids: Iterable[int] | None = None) -> int:
    """Mark the agent's own notices read (all unread ones when no ids are given); another
    agent's ids are ignored. Returns how many changed."""
    unread = Notice.objects.filter(agent=agent, read_at__isnull=True)
    if notice_ids is not None:
        unread = unread.filter(pk__in=list(notice_ids))
    return unread.update(read_at=timezone.now())
