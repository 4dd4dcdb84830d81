"""The run models moved to the runs app: removed from this app's state only, tables stay."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('scaffolder', '0006_provisioned_resource_attempted_at'),
        ('runs', '0001_move_runs_from_scaffolder'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name='provisionedresource',
                    name='provisioned_resource_unique',
                ),
                migrations.RemoveIndex(
                    model_name='run',
                    name='scaffolder__request_216c4d_idx',
                ),
                migrations.RemoveField(
                    model_name='runsecret',
                    name='run',
                ),
                migrations.RemoveConstraint(
                    model_name='runlogline',
                    name='log_unique_seq',
                ),
                migrations.RemoveIndex(
                    model_name='step',
                    name='scaffolder__status_325820_idx',
                ),
                migrations.RemoveConstraint(
                    model_name='step',
                    name='step_unique_position',
                ),
                migrations.RemoveConstraint(
                    model_name='step',
                    name='step_unique_key',
                ),
                migrations.RemoveField(
                    model_name='provisionedresource',
                    name='run',
                ),
                migrations.RemoveField(
                    model_name='run',
                    name='cancelled_by',
                ),
                migrations.RemoveField(
                    model_name='run',
                    name='requested_by',
                ),
                migrations.DeleteModel(
                    name='RunSecret',
                ),
                migrations.RemoveField(
                    model_name='runlogline',
                    name='run',
                ),
                migrations.RemoveField(
                    model_name='runlogline',
                    name='step',
                ),
                migrations.RemoveField(
                    model_name='step',
                    name='run',
                ),
                migrations.DeleteModel(
                    name='ProvisionedResource',
                ),
                migrations.DeleteModel(
                    name='RunLogLine',
                ),
                migrations.DeleteModel(
                    name='Run',
                ),
                migrations.DeleteModel(
                    name='Step',
                ),
            ],
            database_operations=[],
        ),
    ]
