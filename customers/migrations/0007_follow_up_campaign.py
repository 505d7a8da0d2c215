from django.db import migrations, models


FOLLOW_UP = {
    "kind": "follow_up",
    "delay_minutes": 24 * 60,
    "expire_hours": 72,
    "text_zh": "{name}，您好！昨天您咨询的问题还没有完全解决，现在情况怎么样了？"
    "直接回复这条消息，我们会继续为您处理。",
    "text_en": "Hi {name}, the question you asked us yesterday was not fully settled. "
    "How is it going now? Just reply to this message and we will carry on.",
}


def add_follow_up(apps, schema_editor):
    apps.get_model("customers", "CareCampaign").objects.get_or_create(
        kind="follow_up", defaults=FOLLOW_UP
    )


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0006_care_campaigns'),
    ]

    operations = [
        migrations.AlterField(
            model_name='carecampaign',
            name='kind',
            field=models.CharField(choices=[('survey', 'Satisfaction survey after a conversation'), ('birthday', 'Birthday greeting'), ('order_shipped', 'Order shipped'), ('order_delivered', 'Order delivered'), ('follow_up', 'Follow-up of a problem left unresolved')], max_length=30, unique=True, verbose_name='kind'),
        ),
        migrations.RunPython(add_follow_up, migrations.RunPython.noop),
    ]
