"""Notices to agents: made once per (agent, key), in both languages, shown live."""

from __future__ import annotations

from collections.abc import Callable, Iterable

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
    agent_ids = sorted({a if isinstance(a, int) else a.pk for a in agents if a is not None})
    if not agent_ids:
        return []
    with override("zh-hans"):
        text_zh = str(text())[:MAX_TEXT]
    with override("en"):
        text_en = str(text())[:MAX_TEXT]
    with transaction.atomic():
        had = set(
            Notice.objects.filter(agent_id__in=agent_ids, key=key).values_list(
                "agent_id", flat=True
            )
        )
        made = Notice.objects.bulk_create(
            [
                Notice(
                    agent_id=agent_id,
                    kind=kind,
                    key=key[:200],
                    text_zh=text_zh,
                    text_en=text_en,
                    url=url,
                )
                for agent_id in agent_ids
                if agent_id not in had
            ],
            # A notice a concurrent run made in between is left as it is (and comes back
            # with its id), never a second row or an error that undoes the caller's work.
            update_conflicts=True,
            unique_fields=["agent", "key"],
            update_fields=["kind"],
        )
        publish_all_on_commit(
            [
                (events.agent_group(notice.agent_id), events.notice_event(notice_payload(notice)))
                for notice in made
            ]
        )
    return made


def mark_notices_read(*, agent: Agent, notice_ids: Iterable[int] | None = None) -> int:
    """Mark the agent's own notices read (all unread ones when no ids are given); another
    agent's ids are ignored. Returns how many changed."""
    unread = Notice.objects.filter(agent=agent, read_at__isnull=True)
    if notice_ids is not None:
        unread = unread.filter(pk__in=list(notice_ids))
    return unread.update(read_at=timezone.now())
