"""The SLA clocks move out of the ticket's row into TicketClock, a row a clock: the breach
and at-risk jobs then write one narrow row (in this table's few indexes) instead of a
new version of the ticket in every index of tickets_ticket. Each ticket's clocks are
carried over as they are (due, at risk, warned, breached; paused while the ticket waits
on the customer); a clock that never ran gets no row. Reversible: the clocks go back
into the ticket's columns."""

import django.db.models.deletion
from django.db import migrations, models


CLOCKS = ("first_response", "next_response", "resolution")
FIELDS = ("due", "risk_at", "warned_at", "breached_at")

COPY_CLOCKS = f"""
INSERT INTO tickets_ticketclock
    (ticket_id, clock, due, risk_at, warned_at, breached_at, paused, ticket_open)
SELECT t.id, c.clock, c.due, c.risk_at, c.warned_at, c.breached_at, t.sla_paused_at IS NOT NULL,
       t.status IN ('new', 'open', 'pending_customer', 'pending_internal', 'reopened')
FROM tickets_ticket t
CROSS JOIN LATERAL (VALUES {
    ", ".join(
        f"('{clock}', " + ", ".join(f"t.{clock}_{field}" for field in FIELDS) + ")"
        for clock in CLOCKS
    )
}) AS c(clock, {", ".join(FIELDS)})
WHERE {" OR ".join(f"c.{field} IS NOT NULL" for field in FIELDS)}
ORDER BY t.id, c.clock
"""

COPY_CLOCKS_BACK = f"""
UPDATE tickets_ticket t SET {
    ", ".join(f"{clock}_{field} = c.{clock}_{field}" for clock in CLOCKS for field in FIELDS)
}
FROM (
    SELECT ticket_id, {
    ", ".join(
        f"max({field}) FILTER (WHERE clock = '{clock}') AS {clock}_{field}"
        for clock in CLOCKS
        for field in FIELDS
    )
}
    FROM tickets_ticketclock GROUP BY ticket_id
) c
WHERE c.ticket_id = t.id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0009_vip_revisit_type"),
    ]

    operations = [
        migrations.CreateModel(
            name="TicketClock",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "ticket",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="clocks",
                        to="tickets.ticket",
                        verbose_name="ticket",
                    ),
                ),
                (
                    "clock",
                    models.CharField(
                        choices=[
                            ("first_response", "first response"),
                            ("next_response", "next response"),
                            ("resolution", "resolution"),
                        ],
                        max_length=20,
                        verbose_name="clock",
                    ),
                ),
                (
                    "due",
                    models.DateTimeField(
                        blank=True,
                        help_text="Empty: the clock is stopped.",
                        null=True,
                        verbose_name="due",
                    ),
                ),
                (
                    "risk_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="at risk from"),
                ),
                (
                    "warned_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="at-risk warning"),
                ),
                (
                    "breached_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="breached"),
                ),
                (
                    "paused",
                    models.BooleanField(
                        default=False,
                        help_text="The ticket waits on the customer: the clock stands still.",
                        verbose_name="paused",
                    ),
                ),
                (
                    "ticket_open",
                    models.BooleanField(
                        default=True,
                        help_text="The ticket's status is an open one (the list's breached tickets).",
                        verbose_name="ticket open",
                    ),
                ),
            ],
            options={
                "verbose_name": "SLA clock",
                "verbose_name_plural": "SLA clocks",
                "ordering": ["ticket", "clock"],
            },
        ),
        migrations.RunSQL(COPY_CLOCKS, COPY_CLOCKS_BACK),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_first_response_clock",
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_next_response_clock",
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_resolution_clock",
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_first_response_risk",
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_next_response_risk",
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_resolution_risk",
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_open_breached",
        ),
        migrations.RemoveField(
            model_name="ticket",
            name="first_response_breached_at",
        ),
        migrations.RemoveField(
            model_name="ticket",
            name="first_response_due",
        ),
        migrations.RemoveField(
            model_name="ticket",
            name="first_response_risk_at",
        ),
        migrations.RemoveField(
            model_name="ticket",
            name="first_response_warned_at",
        ),
        migrations.RemoveField(
            model_name="ticket",
            name="next_response_breached_at",
        ),
        migrations.RemoveField(
            model_name="ticket",
            name="next_response_due",
        ),
        migrations.RemoveField(
            model_name="ticket",
            name="next_response_risk_at",
        ),
        migrations.RemoveField(
            model_name="ticket",
            name="next_response_warned_at",
        ),
        migrations.RemoveField(
            model_name="ticket",
            name="resolution_breached_at",
        ),
        migrations.RemoveField(
            model_name="ticket",
            name="resolution_due",
        ),
        migrations.RemoveField(
            model_name="ticket",
            name="resolution_risk_at",
        ),
        migrations.RemoveField(
            model_name="ticket",
            name="resolution_warned_at",
        ),
        migrations.AddIndex(
            model_name="ticketclock",
            index=models.Index(
                condition=models.Q(
                    ("breached_at__isnull", True), ("due__isnull", False), ("paused", False)
                ),
                fields=["due"],
                include=("ticket",),
                name="ticket_clock_running",
            ),
        ),
        migrations.AddIndex(
            model_name="ticketclock",
            index=models.Index(
                condition=models.Q(
                    ("breached_at__isnull", True),
                    ("due__isnull", False),
                    ("paused", False),
                    ("risk_at__isnull", False),
                ),
                fields=["risk_at"],
                include=("due", "ticket"),
                name="ticket_clock_risk",
            ),
        ),
        migrations.AddIndex(
            model_name="ticketclock",
            index=models.Index(
                condition=models.Q(
                    ("breached_at__isnull", True),
                    ("due__isnull", False),
                    ("paused", False),
                    ("risk_at__isnull", False),
                    ("warned_at__isnull", True),
                ),
                fields=["risk_at"],
                name="ticket_clock_to_warn",
            ),
        ),
        migrations.AddIndex(
            model_name="ticketclock",
            index=models.Index(
                condition=models.Q(("breached_at__isnull", False), ("ticket_open", True)),
                fields=["ticket"],
                name="ticket_clock_breached",
            ),
        ),
        migrations.AddConstraint(
            model_name="ticketclock",
            constraint=models.UniqueConstraint(
                fields=("ticket", "clock"), name="ticket_clock_once"
            ),
        ),
    ]
