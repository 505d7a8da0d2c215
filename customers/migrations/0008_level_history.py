import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


LEVEL_UP = {
    "kind": "level_up",
    "expire_hours": 72,
    "text_zh": "恭喜您，{name}！您已升级为{level}会员，从现在起享有：{benefits}。",
    "text_en": "Congratulations, {name}! You are now a {level} member, with {benefits}.",
}


def add_level_up(apps, schema_editor):
    apps.get_model("customers", "CareCampaign").objects.get_or_create(
        kind="level_up", defaults=LEVEL_UP
    )


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0007_follow_up_campaign'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='carecampaign',
            name='kind',
            field=models.CharField(choices=[('survey', 'Satisfaction survey after a conversation'), ('birthday', 'Birthday greeting'), ('order_shipped', 'Order shipped'), ('order_delivered', 'Order delivered'), ('follow_up', 'Follow-up of a problem left unresolved'), ('level_up', 'Membership upgrade')], max_length=30, unique=True, verbose_name='kind'),
        ),
        migrations.AlterField(
            model_name='carecampaign',
            name='text_zh',
            field=models.TextField(help_text='Placeholders: {name}, {order}, {carrier}, {tracking}, {coupon}, {amount}, {level}, {benefits}.', verbose_name='message (Chinese)'),
        ),
        migrations.CreateModel(
            name='LevelChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('old', models.CharField(choices=[('normal', 'Normal'), ('silver', 'Silver'), ('gold', 'Gold'), ('vip', 'VIP')], max_length=10, verbose_name='from')),
                ('new', models.CharField(choices=[('normal', 'Normal'), ('silver', 'Silver'), ('gold', 'Gold'), ('vip', 'VIP')], max_length=10, verbose_name='to')),
                ('source', models.CharField(choices=[('admin', 'Back-office'), ('api', 'Partner API'), ('system', 'System')], max_length=10, verbose_name='source')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='changed')),
                ('changed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='changed by')),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='level_changes', to='customers.customer', verbose_name='customer')),
            ],
            options={
                'verbose_name': 'level change',
                'verbose_name_plural': 'level changes',
                'ordering': ['-created_at', '-pk'],
                'indexes': [models.Index(models.F('customer'), models.OrderBy(models.F('created_at'), descending=True), name='level_customer_recent')],
            },
        ),
        migrations.RunPython(add_level_up, migrations.RunPython.noop),
    ]
