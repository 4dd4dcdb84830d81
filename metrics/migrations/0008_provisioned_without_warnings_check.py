"""Add "Provisioned without warnings" to the default scorecard: a run that created the
component's repository but could not protect its branch, grant its team or set its topics says
so on the component's Scorecard tab, not only in the run log."""

from typing import Any

from django.db import migrations

NAME = "Production readiness"
KEY = "provisioned-without-warnings"


def create(apps: Any, schema_editor: Any) -> None:
    Scorecard = apps.get_model("metrics", "Scorecard")
    Level = apps.get_model("metrics", "Level")
    Check = apps.get_model("metrics", "Check")
    card = Scorecard.objects.filter(name=NAME).first()
    level = Level.objects.filter(scorecard=card, name="Bronze").first() if card else None
    if card is None or level is None:
        return
    Check.objects.get_or_create(
        scorecard=card,
        key=KEY,
        defaults={
            "level": level,
            "title": "Provisioned without warnings",
            "rule": KEY,
            "params": {},
            "fix_text": "Open the run named in the reason and do what its warnings ask (e.g. "
            "protect the default branch, grant the team access); GitHub's repository settings "
            "show what is missing.",
            "fix_url": "/docs/providers/",
            "order": 3,
        },
    )


def remove(apps: Any, schema_editor: Any) -> None:
    apps.get_model("metrics", "Check").objects.filter(key=KEY).delete()


class Migration(migrations.Migration):
    dependencies = [("metrics", "0007_rollup_read_indexes")]
    operations = [migrations.RunPython(create, remove)]
