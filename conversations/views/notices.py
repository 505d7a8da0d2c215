"""An agent's notices: the list, and marking them read (thin)."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.views.decorators.http import require_POST

from conversations import selectors
from conversations.services.notices import mark_notices_read
from conversations.views.access import agent_required


@agent_required
def notice_list(request):
    notices = list(selectors.agent_notices(request.agent))
    for notice in notices:
        notice.text = notice.text_in(get_language())
    return render(request, "conversations/notices.html", {"notices": notices})


@require_POST
@agent_required
def notices_read(request):
    """Mark one notice (`notice` = its id) or all of the agent's notices read."""
    raw = request.POST.get("notice", "")
    ids = [int(raw)] if raw.isdigit() else None
    mark_notices_read(agent=request.agent, notice_ids=ids)
    return redirect("desk:notices")
