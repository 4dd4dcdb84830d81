"""Install the preset resource classes (PostgreSQL, Redis, queue, bucket), their AWS tiers and
compositions in dev, staging and production, and the environment policies."""

from django.db import migrations


def install(apps, schema_editor):
    from infra.presets import install_presets

    install_presets(apps)


class Migration(migrations.Migration):
    dependencies = [("infra", "0001_initial")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
