"""The ticket types of the issue (admin can add more) and a default SLA policy, so
tickets can be opened on a fresh installation."""

from django.db import migrations

from tickets.defaults import ensure_defaults


def seed(apps, schema_editor):
    ensure_defaults(
        apps.get_model("tickets", "TicketType"),
        apps.get_model("tickets", "SLAPolicy"),
        apps.get_model("tickets", "SLATarget"),
    )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
