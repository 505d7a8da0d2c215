"""Applying a macro from the ticket page's Macros menu (selectors.ticket_automation
fills the menu). Thin: the reads are selectors, the writes services."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from conversations.views.access import agent_required
from tickets import selectors, services
from tickets.services import automation
from tickets.views.pages import _refused, _ticket_or_404


@require_POST
@agent_required
def apply_macro(request, ticket_id: int, macro_id: int):
    ticket = _ticket_or_404(request.agent, ticket_id)
    macro = selectors.available_macros(request.agent).filter(pk=macro_id).first()
    if macro is None:
        raise Http404(_("No such macro."))
    try:
        automation.apply_macro(ticket_id=ticket.pk, macro=macro, actor=request.user)
    except (services.TicketInputError, automation.AutomationError) as error:
        return _refused(request, ticket, str(error))
    except services.TicketClosed:
        return _refused(request, ticket, _("This ticket is closed."))
    messages.success(request, _("Macro “%(name)s” applied.") % {"name": macro.name})
    return redirect("tickets:detail", ticket_id=ticket.pk)
