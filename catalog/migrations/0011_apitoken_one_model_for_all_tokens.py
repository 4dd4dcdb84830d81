"""One token model for every API: catalog tokens gain a scope, a creator and a revocation time
(integration tokens move in from metrics in metrics 0009). Existing tokens keep their hash, so
they keep working."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def revoked_to_revoked_at(apps, schema_editor):
    from django.utils import timezone

    ApiToken = apps.get_model("catalog", "ApiToken")
    ApiToken.objects.filter(revoked=True).update(revoked_at=timezone.now())


def revoked_at_to_revoked(apps, schema_editor):
    ApiToken = apps.get_model("catalog", "ApiToken")
    ApiToken.objects.filter(revoked_at__isnull=False).update(revoked=True)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0010_entity_processing_warnings'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='apitoken',
            name='created_by',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='apitoken',
            name='revoked_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(revoked_to_revoked_at, revoked_at_to_revoked),
        migrations.RemoveField(
            model_name='apitoken',
            name='revoked',
        ),
        migrations.AddField(
            model_name='apitoken',
            name='scope',
            field=models.CharField(choices=[('catalog', 'Catalog API (as its user)'), ('metrics-events', 'Metrics events API (an integration)')], default='catalog', max_length=20),
        ),
        migrations.AlterField(
            model_name='apitoken',
            name='can_write',
            field=models.BooleanField(default=False, help_text='Catalog tokens only: also register, analyze, refresh and delete catalog locations through the API, with the rights of its user.'),
        ),
        migrations.AlterField(
            model_name='apitoken',
            name='last_used_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AlterField(
            model_name='apitoken',
            name='user',
            field=models.ForeignKey(blank=True, help_text='Catalog tokens act as this person; metrics-events tokens have none.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='catalog_api_tokens', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='apitoken',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('scope', 'catalog'), _negated=True), ('user__isnull', False), _connector='OR'), name='apitoken_catalog_has_user'),
        ),
        migrations.AddConstraint(
            model_name='apitoken',
            constraint=models.CheckConstraint(condition=models.Q(('scope', 'catalog'), models.Q(('can_write', False), ('user__isnull', True)), _connector='OR'), name='apitoken_integration_without_user'),
        ),
        migrations.AddConstraint(
            model_name='apitoken',
            constraint=models.UniqueConstraint(condition=models.Q(('scope', 'metrics-events')), fields=('name',), name='apitoken_integration_name_unique'),
        ),
    ]
