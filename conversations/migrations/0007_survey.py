import django.db.models.deletion
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('conversations', '0006_notice_agent_index_covered'),
        ('customers', '0006_care_campaigns'),
    ]

    operations = [
        migrations.CreateModel(
            name='Survey',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('question', models.CharField(max_length=500, verbose_name='question')),
                ('reward_points', models.PositiveIntegerField(default=0, verbose_name='reward (points)')),
                ('score', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='score')),
                ('comment', models.TextField(blank=True, verbose_name='comment')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='sent')),
                ('answered_at', models.DateTimeField(blank=True, null=True, verbose_name='answered')),
                ('conversation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='surveys', to='conversations.conversation', verbose_name='conversation')),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='surveys', to='customers.customer', verbose_name='customer')),
                ('delivered_in', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='conversations.conversation', verbose_name='asked in')),
                ('outreach', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='survey', to='customers.outreach', verbose_name='outreach')),
            ],
            options={
                'verbose_name': 'survey',
                'verbose_name_plural': 'surveys',
                'ordering': ['-created_at'],
                'indexes': [models.Index(condition=models.Q(('answered_at__isnull', False)), fields=['-answered_at'], name='survey_answered')],
                'constraints': [models.CheckConstraint(condition=models.Q(('score__isnull', True), models.Q(('score__gte', 1), ('score__lte', 5)), _connector='OR'), name='survey_score_1_to_5')],
            },
        ),
    ]
