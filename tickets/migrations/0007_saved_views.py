"""Saved views of the desk's ticket list, and the indexes the list needs at a million
tickets (docs/benchmarks.md): its order over the open tickets and over all; the open
tickets of an assignee, of a group, breached, unassigned; and the subject's pairs of
characters for the search (a plpgsql function: pgserver's PostgreSQL has no pg_trgm)."""

import django.contrib.postgres.indexes
import django.db.models.deletion
from django.db import migrations, models

BIGRAMS = """
CREATE OR REPLACE FUNCTION ticket_text_bigrams(value text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    low text := lower(value);
    pairs text[] := '{}';
BEGIN
    -- Repeated pairs stay: a GIN index keeps each key once, containment ignores them.
    FOR i IN 1 .. char_length(low) - 1 LOOP
        pairs := pairs || substr(low, i, 2);
    END LOOP;
    RETURN pairs;
END
$$
"""


class Migration(migrations.Migration):

    dependencies = [
        ('conversations', '0005_notices'),
        ('tickets', '0006_partner_via'),
    ]

    operations = [
        migrations.CreateModel(
            name='SavedView',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=60, verbose_name='name')),
                ('filters', models.JSONField(blank=True, default=dict, verbose_name='filters')),
                ('scope', models.CharField(choices=[('private', 'Only me'), ('everyone', 'Everyone'), ('group', 'A group')], default='private', max_length=10, verbose_name='shared with')),
                ('position', models.PositiveSmallIntegerField(default=0, verbose_name='position')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
            ],
            options={
                'verbose_name': 'saved view',
                'verbose_name_plural': 'saved views',
                'ordering': ['owner', 'position', 'name'],
            },
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('status__in', ['new', 'open', 'pending_customer', 'pending_internal', 'reopened'])), fields=['-priority', 'created_at', 'id'], include=('assignee', 'skill_group', 'customer'), name='ticket_open_queue'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['-priority', 'created_at', 'id'], name='ticket_queue'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('status__in', ['new', 'open', 'pending_customer', 'pending_internal', 'reopened'])), fields=['assignee', '-priority', 'created_at', 'id'], name='ticket_open_assignee'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('status__in', ['new', 'open', 'pending_customer', 'pending_internal', 'reopened'])), fields=['skill_group', '-priority', 'created_at', 'id'], name='ticket_open_group'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('status__in', ['new', 'open', 'pending_customer', 'pending_internal', 'reopened']), models.Q(('first_response_breached_at__isnull', False), ('next_response_breached_at__isnull', False), ('resolution_breached_at__isnull', False), _connector='OR')), fields=['-priority', 'created_at', 'id'], name='ticket_open_breached'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('assignee__isnull', True), ('status__in', ['new', 'open', 'pending_customer', 'pending_internal', 'reopened'])), fields=['-priority', 'created_at', 'id'], include=('skill_group',), name='ticket_open_unassigned'),
        ),
        migrations.RunSQL(BIGRAMS, "DROP FUNCTION IF EXISTS ticket_text_bigrams(text)"),
        migrations.AddIndex(
            model_name='ticket',
            index=django.contrib.postgres.indexes.GinIndex(models.Func(models.F('subject'), function='ticket_text_bigrams'), condition=models.Q(('status__in', ['new', 'open', 'pending_customer', 'pending_internal', 'reopened'])), name='ticket_open_subject_bigrams'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=django.contrib.postgres.indexes.GinIndex(models.Func(models.F('subject'), function='ticket_text_bigrams'), condition=models.Q(('status__in', ['new', 'open', 'pending_customer', 'pending_internal', 'reopened']), _negated=True), name='ticket_done_subject_bigrams'),
        ),
        migrations.AddField(
            model_name='savedview',
            name='owner',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='saved_ticket_views', to='conversations.agent', verbose_name='owner'),
        ),
        migrations.AddField(
            model_name='savedview',
            name='skill_group',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='conversations.skillgroup', verbose_name='group'),
        ),
        migrations.AddIndex(
            model_name='savedview',
            index=models.Index(fields=['scope', 'skill_group'], name='saved_view_shared'),
        ),
        migrations.AddConstraint(
            model_name='savedview',
            constraint=models.UniqueConstraint(fields=('owner', 'name'), name='saved_view_name_once'),
        ),
        migrations.AddConstraint(
            model_name='savedview',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('scope', 'group'), ('skill_group__isnull', False)), models.Q(models.Q(('scope', 'group'), _negated=True), ('skill_group__isnull', True)), _connector='OR'), name='saved_view_group_with_group_scope'),
        ),
    ]
