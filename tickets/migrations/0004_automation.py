"""Automation: rules (created / updated / time-based), the record of time-based rules
fired, macros, confirmation requests of preset flows; the timeline's rule, macro and
flow rows. Seeds three macros and three example rules (inactive)."""

import django.db.models.deletion
import helpdesk.languages
from django.db import migrations, models

from tickets.automation_defaults import ensure_automation


def seed(apps, schema_editor):
    ensure_automation(apps.get_model("tickets", "AutomationRule"), apps.get_model("tickets", "Macro"))


class Migration(migrations.Migration):

    dependencies = [
        ('conversations', '0005_notices'),
        ('tickets', '0003_sla_actions_and_assignment'),
    ]

    operations = [
        migrations.AlterField(
            model_name='ticketevent',
            name='kind',
            field=models.CharField(choices=[('created', 'Created'), ('changed', 'Changed'), ('commented', 'Commented'), ('sla', 'SLA'), ('assigned', 'Assigned'), ('rule', 'Rule'), ('macro', 'Macro'), ('flow', 'Preset flow')], max_length=10, verbose_name='kind'),
        ),
        migrations.CreateModel(
            name='AutomationRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=120, unique=True, verbose_name='name')),
                ('trigger', models.CharField(choices=[('created', 'A ticket is created'), ('updated', 'A ticket is updated'), ('time', 'Time passes (checked every few minutes, once per ticket)')], max_length=10, verbose_name='when')),
                ('conditions', models.JSONField(blank=True, default=list, help_text='A list; every condition must hold. Example: [{"field": "status", "op": "is", "value": "pending_customer"}, {"field": "hours_pending", "op": "gte", "value": 48, "business": true}]. Fields: status, priority, type, skill_group, customer_level, source, tags, subject, description, text, hours_since_created, hours_since_updated, hours_pending, assigned, replied, changed. See docs/tickets.md.', verbose_name='conditions')),
                ('actions', models.JSONField(default=list, help_text='A list, carried out in order. Example: [{"action": "set", "field": "priority", "value": "high"}, {"action": "add_tag", "value": "vip"}, {"action": "reply", "zh": "您好 {customer}", "en": "Hello {customer}"}, {"action": "notify", "to": ["assignee", "group", "supervisors"]}, {"action": "webhook"}]. Actions: set, add_tag, remove_tag, reply, note, notify, webhook, refund_status. Placeholders: {number}, {customer}, {subject}, {status}, {priority}, {type}, {group}, {assignee}.', verbose_name='actions')),
                ('position', models.PositiveIntegerField(default=0, verbose_name='position')),
                ('is_active', models.BooleanField(default=True, verbose_name='active')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated')),
            ],
            options={
                'verbose_name': 'automation rule',
                'verbose_name_plural': 'automation rules',
                'ordering': ['position', 'id'],
                'indexes': [models.Index(condition=models.Q(('is_active', True)), fields=['trigger', 'position'], name='rule_active_by_trigger')],
            },
        ),
        migrations.CreateModel(
            name='Macro',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name_zh', models.CharField(max_length=80, unique=True, verbose_name='name (Chinese)')),
                ('name_en', models.CharField(max_length=80, unique=True, verbose_name='name (English)')),
                ('actions', models.JSONField(default=list, help_text='A list, carried out in order. Example: [{"action": "set", "field": "priority", "value": "high"}, {"action": "add_tag", "value": "vip"}, {"action": "reply", "zh": "您好 {customer}", "en": "Hello {customer}"}, {"action": "notify", "to": ["assignee", "group", "supervisors"]}, {"action": "webhook"}]. Actions: set, add_tag, remove_tag, reply, note, notify, webhook, refund_status. Placeholders: {number}, {customer}, {subject}, {status}, {priority}, {type}, {group}, {assignee}.', verbose_name='actions')),
                ('position', models.PositiveIntegerField(default=0, verbose_name='position')),
                ('is_active', models.BooleanField(default=True, verbose_name='active')),
                ('skill_groups', models.ManyToManyField(blank=True, help_text='Empty: every agent may apply it.', related_name='+', to='conversations.skillgroup', verbose_name='for groups')),
            ],
            options={
                'verbose_name': 'macro',
                'verbose_name_plural': 'macros',
                'ordering': ['position', 'id'],
            },
            bases=(helpdesk.languages.BilingualName, models.Model),
        ),
        migrations.CreateModel(
            name='ConfirmationRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('flow', models.CharField(choices=[('refund_status', 'Refund status')], max_length=20, verbose_name='flow')),
                ('asked_at', models.DateTimeField(auto_now_add=True, verbose_name='asked')),
                ('answered_at', models.DateTimeField(blank=True, null=True, verbose_name='answered')),
                ('confirmed', models.BooleanField(help_text='Empty: not answered, or asked again.', null=True, verbose_name='confirmed')),
                ('ticket', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='confirmation_requests', to='tickets.ticket')),
            ],
            options={
                'verbose_name': 'confirmation request',
                'verbose_name_plural': 'confirmation requests',
                'ordering': ['-asked_at'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('answered_at__isnull', True)), fields=('ticket',), name='one_open_confirmation_per_ticket')],
            },
        ),
        migrations.CreateModel(
            name='RuleRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('ran_at', models.DateTimeField(auto_now_add=True, verbose_name='ran')),
                ('rule', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='runs', to='tickets.automationrule')),
                ('ticket', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='rule_runs', to='tickets.ticket')),
            ],
            options={
                'verbose_name': 'rule run',
                'verbose_name_plural': 'rule runs',
                'ordering': ['-ran_at'],
                'constraints': [models.UniqueConstraint(fields=('rule', 'ticket'), name='rule_runs_once_per_ticket')],
            },
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
