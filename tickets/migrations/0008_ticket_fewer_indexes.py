import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from helpdesk.migration_ops import drop_indexes_only


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0006_notice_agent_index_covered"),
        ("customers", "0004_customer_notes_and_tags"),
        ("tickets", "0007_saved_views"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        drop_indexes_only(
            [
                migrations.AlterField(
                    model_name="ticket",
                    name="assignee",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="tickets",
                        to="conversations.agent",
                        verbose_name="assignee",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="created_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="created by",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="tickets",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="sla_policy",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="tickets",
                        to="tickets.slapolicy",
                        verbose_name="SLA policy",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="type",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="tickets",
                        to="tickets.tickettype",
                        verbose_name="type",
                    ),
                ),
            ],
            [
                ("tickets_ticket_assignee_id_3a5aa407", "tickets_ticket", "assignee_id"),
                ("tickets_ticket_created_by_id_c418a145", "tickets_ticket", "created_by_id"),
                ("tickets_ticket_customer_id_f2d9135a", "tickets_ticket", "customer_id"),
                ("tickets_ticket_sla_policy_id_ead5adac", "tickets_ticket", "sla_policy_id"),
                ("tickets_ticket_type_id_13539d32", "tickets_ticket", "type_id"),
            ],
        ),
    ]
