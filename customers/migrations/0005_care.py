import customers.models
import django.db.models.deletion
import django.db.models.expressions
import django.db.models.functions.datetime
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0004_customer_notes_and_tags'),
    ]

    operations = [
        migrations.CreateModel(
            name='CareCampaign',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('survey', 'Satisfaction survey after a conversation'), ('birthday', 'Birthday greeting'), ('order_shipped', 'Order shipped'), ('order_delivered', 'Order delivered')], max_length=30, unique=True, verbose_name='kind')),
                ('enabled', models.BooleanField(default=True, verbose_name='enabled')),
                ('delay_minutes', models.PositiveIntegerField(default=0, help_text='After the occasion (a conversation closing, an order shipping).', verbose_name='delay (minutes)')),
                ('expire_hours', models.PositiveIntegerField(default=24, help_text='Not sent at all when it could not go out this long after it was due.', verbose_name='give up after (hours)')),
                ('reward_points', models.PositiveIntegerField(default=0, help_text='For answering a survey.', verbose_name='reward (points)')),
                ('coupon_amount', models.DecimalField(decimal_places=2, default=0, help_text='A coupon issued with the message; 0 for none.', max_digits=10, verbose_name='coupon (amount off)')),
                ('coupon_days', models.PositiveIntegerField(default=30, verbose_name='coupon valid (days)')),
                ('text_zh', models.TextField(help_text='Placeholders: {name}, {order}, {carrier}, {tracking}, {coupon}, {amount}.', verbose_name='message (Chinese)')),
                ('text_en', models.TextField(verbose_name='message (English)')),
            ],
            options={
                'verbose_name': 'care campaign',
                'verbose_name_plural': 'care campaigns',
                'ordering': ['kind'],
            },
        ),
        migrations.CreateModel(
            name='Outreach',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('occasion', models.CharField(max_length=120, verbose_name='occasion')),
                ('due_at', models.DateTimeField(verbose_name='due')),
                ('expires_at', models.DateTimeField(verbose_name='expires')),
                ('status', models.CharField(choices=[('pending', 'Waiting to be sent'), ('sending', 'Being sent'), ('sent', 'Sent'), ('skipped', 'Not sent'), ('expired', 'Too late, not sent')], default='pending', max_length=10, verbose_name='status')),
                ('channel', models.CharField(blank=True, max_length=20, verbose_name='sent through')),
                ('detail', models.CharField(blank=True, max_length=300, verbose_name='detail')),
                ('subject', models.CharField(blank=True, max_length=64, verbose_name='about')),
                ('conversation_id', models.UUIDField(blank=True, null=True, verbose_name='conversation')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='claimed')),
                ('sent_at', models.DateTimeField(blank=True, null=True, verbose_name='sent')),
            ],
            options={
                'verbose_name': 'outreach',
                'verbose_name_plural': 'outreach',
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='PointsEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('points', models.IntegerField(verbose_name='points')),
                ('reason', models.CharField(max_length=120, verbose_name='reason')),
                ('key', models.CharField(max_length=200, unique=True, verbose_name='key')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
            ],
            options={
                'verbose_name': 'points entry',
                'verbose_name_plural': 'points entries',
                'ordering': ['-created_at'],
            },
        ),
        migrations.AddField(
            model_name='customer',
            name='birthday',
            field=models.DateField(blank=True, null=True, verbose_name='birthday'),
        ),
        migrations.AddField(
            model_name='customer',
            name='care_opt_out',
            field=models.BooleanField(default=False, help_text='The customer asked for no surveys, greetings or reminders.', verbose_name='no care messages'),
        ),
        migrations.AddField(
            model_name='customer',
            name='points',
            field=models.IntegerField(default=0, help_text='The balance; every change is a points entry.', verbose_name='points'),
        ),
        migrations.AddField(
            model_name='customer',
            name='quiet_end',
            field=models.TimeField(blank=True, null=True, verbose_name='quiet hours until'),
        ),
        migrations.AddField(
            model_name='customer',
            name='quiet_start',
            field=models.TimeField(blank=True, help_text='Local time; care messages wait until the quiet hours end.', null=True, verbose_name='quiet hours from'),
        ),
        migrations.AddField(
            model_name='customer',
            name='timezone',
            field=models.CharField(default=customers.models.default_timezone, validators=[customers.models.validate_timezone], help_text='IANA name, e.g. Asia/Shanghai: birthdays and quiet hours are local.', max_length=64, verbose_name='timezone'),
        ),
        migrations.AddField(
            model_name='outreach',
            name='campaign',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='outreach', to='customers.carecampaign', verbose_name='campaign'),
        ),
        migrations.AddField(
            model_name='outreach',
            name='customer',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='outreach', to='customers.customer', verbose_name='customer'),
        ),
        migrations.AddField(
            model_name='pointsentry',
            name='customer',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='points_entries', to='customers.customer', verbose_name='customer'),
        ),
        migrations.AddField(
            model_name='customer',
            name='birthday_md',
            field=models.GeneratedField(db_persist=True, expression=django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(django.db.models.functions.datetime.ExtractMonth('birthday'), '*', models.Value(100)), '+', django.db.models.functions.datetime.ExtractDay('birthday')), output_field=models.IntegerField()),
        ),
        migrations.AddIndex(
            model_name='customer',
            index=models.Index(condition=models.Q(('birthday__isnull', False)), fields=['birthday_md'], name='customer_birthday'),
        ),
        migrations.AddIndex(
            model_name='outreach',
            index=models.Index(condition=models.Q(('status', 'pending')), fields=['due_at'], name='outreach_due'),
        ),
        migrations.AddIndex(
            model_name='outreach',
            index=models.Index(models.F('customer'), models.OrderBy(models.F('sent_at'), descending=True), name='outreach_customer_sent'),
        ),
        migrations.AddConstraint(
            model_name='outreach',
            constraint=models.UniqueConstraint(fields=('campaign', 'customer', 'occasion'), name='outreach_once_per_occasion'),
        ),
        migrations.AddIndex(
            model_name='pointsentry',
            index=models.Index(models.F('customer'), models.OrderBy(models.F('created_at'), descending=True), name='points_customer_recent'),
        ),
    ]
