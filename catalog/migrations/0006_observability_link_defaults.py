"""Seed the default observability links; the platform team edits or disables them in admin."""

from django.db import migrations


def seed(apps, schema_editor):
    from catalog.observability import install_default_links

    install_default_links(apps.get_model("catalog", "ObservabilityLink"))


def unseed(apps, schema_editor):
    from catalog.observability import DEFAULT_LINKS

    link = apps.get_model("catalog", "ObservabilityLink")
    link.objects.filter(title__in=[d[0] for d in DEFAULT_LINKS]).delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_observability_links")]

    operations = [migrations.RunPython(seed, unseed)]
