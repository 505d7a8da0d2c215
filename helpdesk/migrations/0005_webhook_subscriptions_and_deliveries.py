import django.contrib.postgres.fields
import django.db.models.deletion
import django.utils.timezone
import helpdesk.ids
import helpdesk.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('helpdesk', '0004_outbox_time_ordered_ids'),
    ]

    operations = [
        migrations.CreateModel(
            name='WebhookAttempt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveSmallIntegerField(verbose_name='attempt')),
                ('started_at', models.DateTimeField(verbose_name='started')),
                ('duration_ms', models.PositiveIntegerField(verbose_name='duration (ms)')),
                ('status_code', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='status')),
                ('error', models.CharField(blank=True, max_length=300, verbose_name='error')),
                ('response_excerpt', models.TextField(blank=True, verbose_name='response (beginning)')),
            ],
            options={
                'verbose_name': 'webhook attempt',
                'verbose_name_plural': 'webhook attempts',
                'ordering': ['-started_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seq', models.BigIntegerField(verbose_name='sequence')),
                ('subject', models.CharField(blank=True, max_length=100, verbose_name='subject')),
                ('state', models.CharField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('delivered', 'Delivered'), ('failed', 'Failed')], default='pending', max_length=10, verbose_name='state')),
                ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='attempts')),
                ('due_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='due')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished')),
                ('last_status_code', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='last status')),
                ('last_error', models.CharField(blank=True, max_length=300, verbose_name='last error')),
            ],
            options={
                'verbose_name': 'webhook delivery',
                'verbose_name_plural': 'webhook deliveries',
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='WebhookSubscription',
            fields=[
                ('id', models.UUIDField(default=helpdesk.ids.uuid7, editable=False, primary_key=True, serialize=False)),
                ('url', models.URLField(max_length=2000, verbose_name='URL')),
                ('secret', models.CharField(default=helpdesk.models.new_webhook_secret, max_length=100, verbose_name='secret')),
                ('events', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(choices=[('conversation.created', 'conversation.created'), ('conversation.assigned', 'conversation.assigned'), ('conversation.closed', 'conversation.closed'), ('message.created', 'message.created'), ('ticket.created', 'ticket.created'), ('ticket.updated', 'ticket.updated'), ('ticket.sla_breached', 'ticket.sla_breached'), ('survey.answered', 'survey.answered'), ('customer.updated', 'customer.updated')], max_length=40), size=None, verbose_name='events')),
                ('active', models.BooleanField(default=True, verbose_name='active')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated')),
                ('consecutive_failures', models.PositiveIntegerField(default=0, editable=False, verbose_name='consecutive failures')),
                ('disabled_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='disabled')),
                ('disabled_reason', models.CharField(blank=True, editable=False, max_length=300, verbose_name='why disabled')),
            ],
            options={
                'verbose_name': 'webhook subscription',
                'verbose_name_plural': 'webhook subscriptions',
                'ordering': ['-created_at'],
            },
        ),
        migrations.AddField(
            model_name='outboundevent',
            name='fanned_out_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='fanned out'),
        ),
        # The order events are written in (OutboundEvent.seq), for the events the breach
        # job inserts by SQL too.
        migrations.RunSQL(
            'CREATE SEQUENCE helpdesk_outboundevent_seq',
            'DROP SEQUENCE IF EXISTS helpdesk_outboundevent_seq',
        ),
        migrations.AddField(
            model_name='outboundevent',
            name='seq',
            field=models.BigIntegerField(db_default=helpdesk.models.NextVal(models.Value('helpdesk_outboundevent_seq')), editable=False, verbose_name='sequence'),
        ),
        migrations.RunSQL(
            'ALTER SEQUENCE helpdesk_outboundevent_seq OWNED BY helpdesk_outboundevent.seq',
            migrations.RunSQL.noop,
        ),
        # There was no subscription before: the events written so far have no delivery
        # to make (and the fan-out's index starts empty).
        migrations.RunSQL(
            'UPDATE helpdesk_outboundevent SET fanned_out_at = created_at',
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name='outboundevent',
            name='event',
            field=models.CharField(choices=[('conversation.created', 'conversation.created'), ('conversation.assigned', 'conversation.assigned'), ('conversation.closed', 'conversation.closed'), ('message.created', 'message.created'), ('ticket.created', 'ticket.created'), ('ticket.updated', 'ticket.updated'), ('ticket.sla_breached', 'ticket.sla_breached'), ('survey.answered', 'survey.answered'), ('customer.updated', 'customer.updated'), ('webhook.test', 'webhook.test')], max_length=40, verbose_name='event'),
        ),
        migrations.AddIndex(
            model_name='outboundevent',
            index=models.Index(condition=models.Q(('fanned_out_at__isnull', True)), fields=['seq'], name='outbound_to_fan_out'),
        ),
        migrations.AddField(
            model_name='webhookdelivery',
            name='event',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='helpdesk.outboundevent', verbose_name='event'),
        ),
        migrations.AddField(
            model_name='webhookattempt',
            name='delivery',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attempt_log', to='helpdesk.webhookdelivery', verbose_name='delivery'),
        ),
        migrations.AddField(
            model_name='webhooksubscription',
            name='api_key',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhooks', to='helpdesk.apikey', verbose_name='API key'),
        ),
        migrations.AddField(
            model_name='webhookdelivery',
            name='subscription',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='helpdesk.webhooksubscription', verbose_name='subscription'),
        ),
        migrations.AddConstraint(
            model_name='webhooksubscription',
            constraint=models.UniqueConstraint(fields=('api_key', 'url'), name='webhook_url_once_per_key'),
        ),
        migrations.AddIndex(
            model_name='webhookdelivery',
            index=models.Index(condition=models.Q(('state__in', ['pending', 'sending'])), fields=['due_at', 'seq'], name='delivery_due'),
        ),
        migrations.AddIndex(
            model_name='webhookdelivery',
            index=models.Index(condition=models.Q(('state__in', ['pending', 'sending'])), fields=['subscription', 'subject', 'seq'], name='delivery_open_by_subject'),
        ),
        migrations.AddIndex(
            model_name='webhookdelivery',
            index=models.Index(fields=['subscription', '-id'], name='delivery_by_subscription'),
        ),
        migrations.AddConstraint(
            model_name='webhookdelivery',
            constraint=models.UniqueConstraint(fields=('event', 'subscription'), name='webhook_delivery_once'),
        ),
    ]
