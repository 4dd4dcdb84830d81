"""Seed the default observability links; the platform team edits or disables them in admin."""

from django.db import migrations

# Grafana Explore's `panes` parameter is URL-encoded JSON; its braces are encoded (%7B, %7D) so
# they are not read as placeholders.
_LOKI = (
    "https://grafana.example.com/explore?schemaVersion=1&panes=%7B%22logs%22:%7B%22datasource%22:"
    "%22loki%22,%22queries%22:%5B%7B%22refId%22:%22A%22,%22expr%22:%22%7Bnamespace%3D%5C%22"
    "{namespace}%5C%22%7D%22%7D%5D,%22range%22:%7B%22from%22:%22now-1h%22,%22to%22:%22now%22%7D"
    "%7D%7D"
)
_TEMPO = (
    "https://grafana.example.com/explore?schemaVersion=1&panes=%7B%22traces%22:%7B%22datasource"
    "%22:%22tempo%22,%22queries%22:%5B%7B%22refId%22:%22A%22,%22queryType%22:%22traceql%22,"
    "%22query%22:%22%7Bresource.service.name%3D%5C%22{name}%5C%22%7D%22%7D%5D,%22range%22:%7B"
    "%22from%22:%22now-1h%22,%22to%22:%22now%22%7D%7D%7D"
)
DEFAULTS = [
    ("Grafana dashboard", "dashboard", 10,
     "https://grafana.example.com/d/paved-service/service?var-namespace={namespace}&var-service={name}"),
    ("Logs (Loki)", "logs", 20, _LOKI),
    ("Traces (Tempo)", "traces", 30, _TEMPO),
    ("Argo CD application", "deployment", 40,
     "https://argocd.example.com/applications/argocd/{argocd_app}"),
    ("PagerDuty service", "on-call", 50,
     "https://example.pagerduty.com/service-directory/{pagerduty_service_id}"),
]  # fmt: skip


def seed(apps, schema_editor):
    link = apps.get_model("catalog", "ObservabilityLink")
    for title, kind, position, pattern in DEFAULTS:
        link.objects.get_or_create(
            title=title, defaults={"kind": kind, "position": position, "url_pattern": pattern}
        )


def unseed(apps, schema_editor):
    link = apps.get_model("catalog", "ObservabilityLink")
    link.objects.filter(title__in=[d[0] for d in DEFAULTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_observability_links")]

    operations = [migrations.RunPython(seed, unseed)]
