"""Integration tokens become API tokens of scope "metrics-events" (catalog.ApiToken), keeping
their hash, so every token issued before keeps authenticating."""

from django.db import migrations


FIELDS = ("name", "prefix", "token_hash", "created_at", "created_by_id", "revoked_at", "last_used_at")


def into_api_tokens(apps, schema_editor):
    IntegrationToken = apps.get_model("metrics", "IntegrationToken")
    ApiToken = apps.get_model("catalog", "ApiToken")
    ApiToken.objects.bulk_create(
        ApiToken(scope="metrics-events", **{f: getattr(old, f) for f in FIELDS})
        for old in IntegrationToken.objects.order_by("pk")
    )


def back_to_integration_tokens(apps, schema_editor):
    IntegrationToken = apps.get_model("metrics", "IntegrationToken")
    ApiToken = apps.get_model("catalog", "ApiToken")
    tokens = ApiToken.objects.filter(scope="metrics-events").order_by("pk")
    IntegrationToken.objects.bulk_create(
        IntegrationToken(**{f: getattr(t, f) for f in FIELDS}) for t in tokens
    )
    tokens.delete()


class Migration(migrations.Migration):

    dependencies = [
        ('metrics', '0008_provisioned_without_warnings_check'),
        ('catalog', '0011_apitoken_one_model_for_all_tokens'),
    ]

    operations = [
        migrations.RunPython(into_api_tokens, back_to_integration_tokens),
        migrations.DeleteModel(
            name='IntegrationToken',
        ),
    ]
