"""What a room message's text says, read without the database: mentions, tags, references.

Mentions are matched against the names that can be mentioned in the room (its
members' display names and user names, the skill groups' codes and names, and
`all` / `所有人`), the longest name first, so "@张伟" finds 张伟 in "@张伟请看一下"
(Chinese has no spaces) and "@Li Lei" finds "Li Lei" rather than "Li". A Latin name
must end at a word boundary: "@Ann" is not "@Anna".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

ALL_NAMES = ("all", "所有人", "全体")

# Words that make a message about an order, a technical problem or a complaint.
TAG_KEYWORDS: dict[str, tuple[str, ...]] = {
    "order": (
        "订单",
        "下单",
        "发货",
        "物流",
        "快递",
        "退货",
        "退款",
        "换货",
        "运单",
        "order",
        "shipping",
        "shipment",
        "delivery",
        "tracking",
        "refund",
        "return",
    ),
    "technical": (
        "故障",
        "报错",
        "崩溃",
        "闪退",
        "无法登录",
        "登录不了",
        "bug",
        "卡顿",
        "系统",
        "接口",
        "error",
        "crash",
        "broken",
        "outage",
        "timeout",
        "login",
    ),
    "complaint": (
        "投诉",
        "差评",
        "维权",
        "举报",
        "不满",
        "生气",
        "愤怒",
        "complaint",
        "complain",
        "angry",
        "unacceptable",
        "escalate",
    ),
}

TICKET_REF = re.compile(r"(?<![A-Za-z0-9])T-(\d{6,})(?![0-9])")
CONVERSATION_REF = re.compile(
    r"/desk/c/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/?", re.IGNORECASE
)
MAX_REFS = 5


@dataclass(frozen=True)
class Mentionable:
    """A name that can follow @: an agent (agent_id) or a set of agents (group)."""

    name: str
    agent_ids: frozenset[int]
    group: str = ""


def _is_word(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char in "_-.")


def find_mentions(body: str, names: list[Mentionable]) -> list[Mentionable]:
    """The mentionables named in `body` with @ (or the full-width ＠), each once, in order."""
    ordered = sorted((n for n in names if n.name.strip()), key=lambda n: len(n.name), reverse=True)
    found: list[Mentionable] = []
    lowered = body.casefold()
    for match in re.finditer(r"[@＠]", body):
        start = match.end()
        if match.start() > 0 and _is_word(body[match.start() - 1]):
            continue  # an email address, not a mention
        for candidate in ordered:
            name = candidate.name.casefold()
            if not lowered.startswith(name, start):
                continue
            end = start + len(name)
            if _is_word(name[-1]) and end < len(body) and _is_word(body[end]):
                continue
            if candidate not in found:
                found.append(candidate)
            break
    return found


def auto_tags(body: str) -> list[str]:
    """The types the text's keywords suggest (order, technical, complaint), in that order."""
    lowered = body.casefold()
    return [
        tag
        for tag, words in TAG_KEYWORDS.items()
        if any(_contains_word(lowered, word) for word in words)
    ]


def _contains_word(text: str, word: str) -> bool:
    if not word.isascii():
        return word in text
    return re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text) is not None


def find_refs(body: str) -> list[dict]:
    """Tickets (T-000123) and conversations (a desk link) the text points at, each once."""
    refs: list[dict] = []
    for match in TICKET_REF.finditer(body):
        ref = {"kind": "ticket", "id": int(match.group(1))}
        if ref not in refs:
            refs.append(ref)
    for match in CONVERSATION_REF.finditer(body):
        ref = {"kind": "conversation", "id": str(UUID(match.group(1)))}
        if ref not in refs:
            refs.append(ref)
    return refs[:MAX_REFS]


def safe_link(url: str) -> str | None:
    """The URL when it is http or https (shown as a link), else None (shown as text)."""
    return url if re.match(r"https?://", url, re.IGNORECASE) else None
