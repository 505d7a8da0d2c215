"""Today's numbers on the supervisors' live board (conversations' /desk/board/), computed
live with the rollup's statement each time the board re-renders."""

from __future__ import annotations

from django.utils import timezone

from analytics import selectors
from analytics.dashboard import show, show_target
from analytics.metrics import BY_KEY, TARGETED, compute
from analytics.periods import today

BOARD_COUNTS = ["conversations", "handoff_rate", "left_message", "tickets_created"]


def today_on_board() -> dict:
    day = today()
    totals = selectors.figures(selectors.Scope(day, day), now=timezone.now())[None]
    values = compute(totals)
    items = [
        {
            "key": metric.key,
            "label": metric.label,
            "value": show(metric.kind, values[metric.key]),
            "target": show_target(metric),
            "met": metric.target.met(values[metric.key]),
        }
        for metric in TARGETED
    ]
    counts = [
        {"key": key, "label": BY_KEY[key].label, "value": show(BY_KEY[key].kind, values[key])}
        for key in BOARD_COUNTS
    ]
    return {"template": "analytics/_board_today.html", "day": day, "items": items, "counts": counts}
