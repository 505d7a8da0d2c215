import django.db.models.deletion
from django.db import migrations, models

from helpdesk.migration_ops import drop_indexes_only


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0005_notices"),
    ]

    operations = [
        drop_indexes_only(
            [
                migrations.AlterField(
                    model_name="notice",
                    name="agent",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notices",
                        to="conversations.agent",
                        verbose_name="agent",
                    ),
                ),
            ],
            [
                ("conversations_notice_agent_id_2016924a", "conversations_notice", "agent_id"),
            ],
        ),
    ]
