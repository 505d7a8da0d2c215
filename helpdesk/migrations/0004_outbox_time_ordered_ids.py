import helpdesk.ids
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0003_idempotency"),
    ]

    operations = [
        migrations.AlterField(
            model_name="outboundevent",
            name="event",
            field=models.CharField(
                choices=[
                    ("conversation.created", "conversation.created"),
                    ("conversation.assigned", "conversation.assigned"),
                    ("conversation.closed", "conversation.closed"),
                    ("message.created", "message.created"),
                    ("ticket.created", "ticket.created"),
                    ("ticket.updated", "ticket.updated"),
                    ("ticket.sla_breached", "ticket.sla_breached"),
                    ("survey.answered", "survey.answered"),
                    ("customer.updated", "customer.updated"),
                ],
                max_length=40,
                verbose_name="event",
            ),
        ),
        migrations.AlterField(
            model_name="outboundevent",
            name="id",
            field=models.UUIDField(
                default=helpdesk.ids.uuid7, editable=False, primary_key=True, serialize=False
            ),
        ),
    ]
