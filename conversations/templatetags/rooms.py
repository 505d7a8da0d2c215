"""Template helpers of the team rooms: the navigation's counts, a message's text."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from conversations.rooms import selectors

register = template.Library()

# A link is only ever http or https; anything else stays text.
LINK = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


@register.simple_tag
def room_nav(agent) -> dict:
    """The agent's rooms with their unread counts and the totals (one query)."""
    rooms = selectors.room_list(agent)
    return {
        "config": {
            "me": agent.pk,
            "strings": {
                "mentioned": _("%(author)s mentioned you in %(room)s"),
                "urgent": _("Urgent from %(author)s in %(room)s"),
                "reminder": _("Please acknowledge: %(author)s's urgent message in %(room)s"),
                "enabled": _("Notifications are on."),
                "failed": _("That could not be done: %(reason)s"),
                "uploading": _("Uploading %(name)s…"),
                "upload_failed": _("The file was not accepted: %(reason)s"),
                "remove": _("Remove %(name)s"),
            },
        },
        "unread": sum(r.unread for r in rooms),
        "mentions": sum(r.mentions for r in rooms),
        "map": {
            str(r.pk): {"title": r.title, "unread": r.unread, "mentions": r.mentions} for r in rooms
        },
    }


@register.filter
def room_text(body: str) -> str:
    """A message's text for HTML: everything escaped, line breaks kept, http(s) addresses
    made links (new tab, no referrer)."""
    parts = []
    last = 0
    for match in LINK.finditer(body or ""):
        url = match.group(0).rstrip(".,;:!?)）。，")
        end = match.start() + len(url)
        parts.append(escape(body[last : match.start()]))
        parts.append(
            f'<a href="{escape(url)}" target="_blank" rel="noopener noreferrer nofollow">'
            f"{escape(url)}</a>"
        )
        last = end
    parts.append(escape((body or "")[last:]))
    return mark_safe("".join(parts).replace("\n", "<br>"))  # noqa: S308 (every part escaped)
