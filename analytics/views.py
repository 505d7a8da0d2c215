"""The supervisors' dashboards under /desk/analytics/ (server-rendered, thin)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import selectors
from analytics.dashboard import Overview
from analytics.exports import csv_response
from analytics.scopes import ScopeForm
from conversations.models import Conversation
from conversations.views.access import agent_required
from helpdesk import audit
from tickets.models import Ticket


def _supervisor(request) -> None:
    if not request.agent.is_supervisor:
        raise PermissionDenied(_("The dashboards are for supervisors."))


def _bad_scope(request, form: ScopeForm, template: str, context=None):
    return render(request, template, {"form": form, "invalid": True, **(context or {})}, status=400)


@agent_required
def overview(request):
    """The seed targets and where we stand, trends, breakdowns, topics, tickets; every
    chart and table row links to what is behind it; ?export=<table> downloads a table."""
    _supervisor(request)
    form = ScopeForm(request.GET)
    if not form.is_valid():
        return _bad_scope(request, form, "analytics/overview.html")
    page = Overview(form.scope(), form.query(), timezone.now()).build()
    export = request.GET.get("export")
    if export:
        table = page.table(export)
        if table is None:
            raise Http404(_("No such table."))
        scope = page.scope
        _record_export(request, table.key, scope, len(table.rows))
        return csv_response(
            f"{table.key}-{scope.start:%Y%m%d}-{scope.end:%Y%m%d}.csv", table.columns, table.rows
        )
    return render(request, "analytics/overview.html", {"form": form, "page": page})


@agent_required
def drill(request):
    """The conversations or tickets behind a number (?metric=… and the overview's scope)."""
    _supervisor(request)
    form = ScopeForm(request.GET)
    key = request.GET.get("metric", "")
    if not form.is_valid() or key not in selectors.DRILLS:
        error = "" if key in selectors.DRILLS else _("Unknown metric.")
        return _bad_scope(request, form, "analytics/drill.html", {"error": error})
    scope = form.scope()
    source, ids = selectors.drill(scope, key)
    title = selectors.DRILLS[key][2]
    model = Conversation if source == "conversation" else Ticket
    order = {pk: index for index, pk in enumerate(ids)}
    items = sorted(
        model.objects.filter(pk__in=ids).select_related("customer", "assignee", "skill_group"),
        key=lambda item: order[item.pk],
    )
    if request.GET.get("export"):
        _record_export(request, f"drill:{key}", scope, len(items))
        return _drill_csv(source, key, scope, items)
    return render(
        request,
        "analytics/drill.html",
        {
            "form": form,
            "metric": key,
            "title": title,
            "source": source,
            "items": items,
            "limit": selectors.DRILL_LIMIT,
            "max_days": selectors.DRILL_MAX_DAYS,
            "long_range": (scope.end - scope.start).days + 1 > selectors.DRILL_MAX_DAYS,
            "back": form.query(),
            "export_query": request.GET.urlencode(),
        },
    )


def _record_export(request, table: str, scope, rows: int) -> None:
    """Exports are in the audit log (docs/security.md): the only write these pages make."""
    audit.record(
        action=audit.Action.EXPORT,
        actor=request.user,
        target_type="analytics.table",
        target_id=table,
        target_repr=table,
        details={"from": scope.start.isoformat(), "to": scope.end.isoformat(), "rows": rows},
    )


def _drill_csv(source: str, key: str, scope, items):
    name = f"{key}-{scope.start:%Y%m%d}-{scope.end:%Y%m%d}.csv"
    if source == "conversation":
        return csv_response(
            name,
            [
                _("Conversation"),
                _("Started"),
                _("Customer"),
                _("Channel"),
                _("Skill group"),
                _("Agent"),
                _("Status"),
                _("Resolution"),
                _("Transfers"),
            ],
            [
                [
                    str(c.pk),
                    c.created_at.isoformat(),
                    c.customer.display_name,
                    c.channel,
                    c.skill_group.name if c.skill_group else "",
                    c.assignee.display_name if c.assignee else "",
                    c.status,
                    c.resolution,
                    c.transfer_count,
                ]
                for c in items
            ],
        )
    return csv_response(
        name,
        [_("Ticket"), _("Opened"), _("Subject"), _("Customer"), _("Status"), _("Agent")],
        [
            [
                t.number,
                t.created_at.isoformat(),
                t.subject,
                t.customer.display_name,
                t.status,
                t.assignee.display_name if t.assignee else "",
            ]
            for t in items
        ],
    )
