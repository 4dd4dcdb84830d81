"""Run, Step, RunSecret, RunLogLine and ProvisionedResource move here from the scaffolder app.

Only Django's state moves: the tables keep their names (db_table), so no row is copied. The
content types (and with them the admin permissions) are renamed to the new app label.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


MOVED = ["run", "step", "runsecret", "runlogline", "provisionedresource"]


def _relabel(apps, from_label, to_label):
    content_type = apps.get_model("contenttypes", "ContentType")
    for moved in content_type.objects.filter(app_label=from_label, model__in=MOVED):
        # An empty twin left by an earlier migrate (post_migrate creates missing types) gives
        # way to the one that carries the permissions and admin history.
        content_type.objects.filter(app_label=to_label, model=moved.model).delete()
        moved.app_label = to_label
        moved.save(update_fields=["app_label"])


def forwards(apps, schema_editor):
    _relabel(apps, "scaffolder", "runs")


def backwards(apps, schema_editor):
    _relabel(apps, "runs", "scaffolder")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('contenttypes', '0002_remove_content_type_name'),
        ('scaffolder', '0006_provisioned_resource_attempted_at'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Run',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(help_text='Which app started it, e.g. scaffolder, infra, demo.', max_length=64)),
                        ('title', models.CharField(max_length=200)),
                        ('subject', models.CharField(blank=True, db_index=True, max_length=200)),
                        ('owner_ref', models.CharField(blank=True, db_index=True, help_text='Catalog group that owns the result.', max_length=300)),
                        ('inputs', models.JSONField(blank=True, default=dict)),
                        ('context', models.JSONField(blank=True, default=dict, help_text='Engine context: template, version, output spec.')),
                        ('outputs', models.JSONField(blank=True, default=dict)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], db_index=True, default='pending', max_length=16)),
                        ('error', models.TextField(blank=True)),
                        ('log_seq', models.PositiveIntegerField(default=0, help_text='Last log line number used.')),
                        ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('cancelled_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.DB_SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('requested_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.DB_SET_NULL, related_name='runs', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'scaffolder_run',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='ProvisionedResource',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(help_text='repository, branch, namespace, application', max_length=32)),
                        ('key', models.CharField(help_text='owner/repo, owner/repo#branch, environment/name (lower case)', max_length=400)),
                        ('owner_ref', models.CharField(blank=True, db_index=True, max_length=300)),
                        ('step_key', models.CharField(blank=True, max_length=100)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('attempted_at', models.DateTimeField(blank=True, help_text='When the step first asked the outside system to create it (set before the call): a retry of that step finishes what it finds instead of refusing it.', null=True)),
                        ('run', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.DB_SET_NULL, related_name='provisioned', to='runs.run')),
                    ],
                    options={
                        'db_table': 'scaffolder_provisionedresource',
                    },
                ),
                migrations.CreateModel(
                    name='RunSecret',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('sealed', models.TextField(help_text='Fernet token of a JSON object {field: value}.')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('run', models.OneToOneField(on_delete=django.db.models.deletion.DB_CASCADE, related_name='secret', to='runs.run')),
                    ],
                    options={
                        'db_table': 'scaffolder_runsecret',
                    },
                ),
                migrations.CreateModel(
                    name='Step',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('position', models.PositiveIntegerField()),
                        ('key', models.CharField(help_text='The step id, unique within the run.', max_length=100)),
                        ('name', models.CharField(max_length=200)),
                        ('kind', models.CharField(help_text='Registered step kind, e.g. fetch:template.', max_length=100)),
                        ('inputs', models.JSONField(blank=True, default=dict)),
                        ('condition', models.TextField(blank=True, help_text='Optional `if` expression.')),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('skipped', 'Skipped'), ('cancelled', 'Cancelled')], db_index=True, default='pending', max_length=16)),
                        ('attempt', models.PositiveIntegerField(default=0)),
                        ('max_attempts', models.PositiveIntegerField(default=5)),
                        ('lease_expires_at', models.DateTimeField(blank=True, null=True)),
                        ('claimed_by', models.CharField(blank=True, max_length=200)),
                        ('not_before', models.DateTimeField(blank=True, help_text='Earliest next attempt.', null=True)),
                        ('enqueued_at', models.DateTimeField(blank=True, null=True)),
                        ('resolved_inputs', models.JSONField(blank=True, default=dict, help_text='Inputs after expressions, secrets redacted.')),
                        ('outputs', models.JSONField(blank=True, default=dict)),
                        ('error', models.TextField(blank=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('run', models.ForeignKey(on_delete=django.db.models.deletion.DB_CASCADE, related_name='steps', to='runs.run')),
                    ],
                    options={
                        'db_table': 'scaffolder_step',
                        'ordering': ['run', 'position'],
                    },
                ),
                migrations.CreateModel(
                    name='RunLogLine',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('seq', models.PositiveIntegerField()),
                        ('level', models.CharField(choices=[('DEBUG', 'Debug'), ('INFO', 'Info'), ('WARNING', 'Warning'), ('ERROR', 'Error')], default='INFO', max_length=8)),
                        ('message', models.TextField()),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('run', models.ForeignKey(on_delete=django.db.models.deletion.DB_CASCADE, related_name='log_lines', to='runs.run')),
                        ('step', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.DB_SET_NULL, related_name='log_lines', to='runs.step')),
                    ],
                    options={
                        'db_table': 'scaffolder_runlogline',
                        'ordering': ['run', 'seq'],
                    },
                ),
                migrations.AddIndex(
                    model_name='run',
                    index=models.Index(fields=['requested_by', '-created_at'], name='scaffolder__request_216c4d_idx'),
                ),
                migrations.AddConstraint(
                    model_name='provisionedresource',
                    constraint=models.UniqueConstraint(fields=('kind', 'key'), name='provisioned_resource_unique'),
                ),
                migrations.AddIndex(
                    model_name='step',
                    index=models.Index(fields=['status', 'lease_expires_at'], name='scaffolder__status_325820_idx'),
                ),
                migrations.AddConstraint(
                    model_name='step',
                    constraint=models.UniqueConstraint(fields=('run', 'position'), name='step_unique_position'),
                ),
                migrations.AddConstraint(
                    model_name='step',
                    constraint=models.UniqueConstraint(fields=('run', 'key'), name='step_unique_key'),
                ),
                migrations.AddConstraint(
                    model_name='runlogline',
                    constraint=models.UniqueConstraint(fields=('run', 'seq'), name='log_unique_seq'),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
