"""The "VIP revisit" ticket type (care campaign VIP revisit), handled by the VIP group
when there is one (admin can choose another)."""

from django.db import migrations


def add_type(apps, schema_editor):
    TicketType = apps.get_model("tickets", "TicketType")
    SkillGroup = apps.get_model("conversations", "SkillGroup")
    TicketType.objects.get_or_create(
        code="vip_revisit",
        defaults={
            "name_zh": "VIP 回访",
            "name_en": "VIP revisit",
            "urgency": 10,
            "position": 70,
            "skill_group": SkillGroup.objects.filter(code="vip").first(),
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0008_ticket_fewer_indexes"),
        ("conversations", "0007_survey"),
    ]

    operations = [migrations.RunPython(add_type, migrations.RunPython.noop)]
