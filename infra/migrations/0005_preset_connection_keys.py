"""Bring installed presets in line with the provider's CRDs and connection secrets: the
PostgreSQL class also publishes `database`, and ElastiCache's `atRestEncryptionEnabled` is a
string in provider-upjet-aws (a boolean is refused). Rows the platform team changed are left
alone; a fresh install already has these values from infra/presets.py."""

import yaml
from django.db import migrations

OLD_POSTGRES_KEYS = ["username", "password", "endpoint", "port"]


def forwards(apps, schema_editor):
    resource_class = apps.get_model("infra", "ResourceClass")
    composition = apps.get_model("infra", "Composition")
    resource_class.objects.filter(name="postgresql", connection_secret_keys=OLD_POSTGRES_KEYS).update(
        connection_secret_keys=[*OLD_POSTGRES_KEYS, "database"]
    )
    for row in composition.objects.filter(resource_class__name="redis"):
        resources = yaml.safe_load(row.resources_yaml) or []
        changed = False
        for resource in resources:
            base = resource.get("base") or {}
            provider = (base.get("spec") or {}).get("forProvider") or {}
            if base.get("kind") == "ReplicationGroup" and provider.get("atRestEncryptionEnabled") is True:
                provider["atRestEncryptionEnabled"] = "true"
                changed = True
        if changed:
            row.resources_yaml = yaml.safe_dump(resources, sort_keys=False)
            row.save(update_fields=["resources_yaml"])


class Migration(migrations.Migration):
    dependencies = [("infra", "0004_committed_label")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
