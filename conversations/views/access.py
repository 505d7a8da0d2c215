"""Who may use the desk, and which conversations they may open."""

from __future__ import annotations

from functools import wraps
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from conversations import selectors


def agent_required(view):
    """Logged-in staff with an agent profile; anyone else is sent away (403)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        agent = selectors.agent_for_user(request.user)
        if agent is None:
            raise PermissionDenied(_("This page is for agents."))
        request.agent = agent
        return view(request, *args, **kwargs)

    return wrapper


def visible_or_404(agent, conversation_id: UUID):
    conversation = selectors.visible_conversations(agent).filter(pk=conversation_id).first()
    if conversation is None:
        raise Http404(_("No such conversation."))
    return conversation


def from_page_script(request) -> bool:
    """A request the desk's own script sent (fetch): it wants data or a fragment back,
    not a redirect to a whole page."""
    return request.headers.get("X-Requested-With") == "fetch"
