"""Ship the default "Production readiness" scorecard (Bronze, Silver, Gold)."""

from typing import Any

from django.db import migrations

NAME = "Production readiness"
LEVELS = ["Bronze", "Silver", "Gold"]
# (level, key, title, rule, params, how to fix, link)
CHECKS = [
    ("Bronze", "owner-exists", "Has an owner that exists", "owner-exists", {},
     "Set spec.owner in catalog-info.yaml to a group (or user) that is in the catalog.",
     "/docs/catalog/"),
    ("Bronze", "description-and-docs", "Has a description and docs", "description-and-docs", {},
     "Add metadata.description and the annotation backstage.io/techdocs-ref: dir:. with a docs/ "
     "folder.", "/docs/catalog/"),
    ("Bronze", "no-processing-errors", "No open processing errors", "no-processing-errors", {},
     "Fix the errors shown on the component page and push; the catalog re-reads the file.",
     "/catalog/"),
    ("Silver", "runbook", "Has a runbook page", "runbook", {"path": "docs/runbook.md"},
     "Add docs/runbook.md to the repository (the golden-path templates include one).",
     "/docs/scorecards/"),
    ("Silver", "on-call", "On-call configured", "on-call", {},
     "Annotate pagerduty.com/service-id, opsgenie.com/team or paved.dev/on-call.",
     "/docs/on-call/"),
    ("Silver", "ci-workflow", "CI workflow in the repository", "ci-workflow", {},
     "Add a .github/workflows/*.yml workflow (the templates ship one).", "/docs/scaffolder/"),
    ("Silver", "golden-path", "Created from a recommended template", "golden-path", {},
     "Create the service from a recommended template, or add the paved.dev/template annotation "
     "once it conforms to one.", "/create/"),
    ("Gold", "argocd", "Deployed through Argo CD", "argocd", {},
     "Deploy through Paved (an Argo CD Application in the GitOps repository) or annotate "
     "argocd/app-name.", "/docs/providers/"),
    ("Gold", "dora-band", "DORA band at least medium (30 days)", "dora-band",
     {"days": 30, "min_band": "medium", "environment": "production"},
     "Deploy to production more often with smaller changes; see the component's metrics tab.",
     "/docs/metrics/"),
]  # fmt: skip


def create(apps: Any, schema_editor: Any) -> None:
    Scorecard = apps.get_model("metrics", "Scorecard")
    Level = apps.get_model("metrics", "Level")
    Check = apps.get_model("metrics", "Check")
    card, _ = Scorecard.objects.get_or_create(
        name=NAME,
        defaults={"description": "What every production service needs, from owned to measured."},
    )
    levels = {}
    for rank, name in enumerate(LEVELS, start=1):
        levels[name], _ = Level.objects.get_or_create(scorecard=card, rank=rank, name=name)
    for order, (level, key, title, rule, params, fix, url) in enumerate(CHECKS):
        Check.objects.get_or_create(
            scorecard=card,
            key=key,
            defaults={
                "level": levels[level],
                "title": title,
                "rule": rule,
                "params": params,
                "fix_text": fix,
                "fix_url": url,
                "order": order,
            },
        )


def remove(apps: Any, schema_editor: Any) -> None:
    apps.get_model("metrics", "Scorecard").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("metrics", "0002_scorecards")]
    operations = [migrations.RunPython(create, remove)]
