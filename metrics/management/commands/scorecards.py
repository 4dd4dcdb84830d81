"""`manage.py scorecards evaluate [--component NAME] [--json]`: evaluate now and print results."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.models import Entity
from metrics.platform import active_components
from metrics.scorecards.services import evaluate


class Command(BaseCommand):
    help = "Evaluate scorecards and print each component's level and failing checks."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ev = sub.add_parser("evaluate", help="evaluate every active scorecard now")
        ev.add_argument("--component", help="only this component (name, or kind:ns/name ref)")
        ev.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args: Any, **options: Any) -> None:
        components = active_components()
        name = (options.get("component") or "").strip()
        if name:
            match = Entity.objects.filter(kind__iexact="component")
            match = (
                match.filter(ref=name.lower()) if ":" in name else match.filter(name__iexact=name)
            )
            if not match.exists():
                raise CommandError(f"no component named {name!r} in the catalog")
            components = match
        rows = evaluate(components=components)
        if options.get("json"):
            out = [
                {
                    "scorecard": r.scorecard.name,
                    "component": r.component.name,
                    "ref": r.component.ref,
                    "owner": r.component.owner_ref,
                    "level": r.result.level_name or None,
                    "passed": r.result.passed,
                    "total": r.result.total,
                    "failing": r.failing,
                }
                for r in rows
            ]
            self.stdout.write(json.dumps(out, indent=2))
            return
        if not rows:
            self.stdout.write("No components evaluated (no active scorecard or no components).")
        for r in rows:
            level = r.result.level_name or "no level"
            self.stdout.write(
                f"{r.component.name} [{r.scorecard.name}]: {level} "
                f"({r.result.passed}/{r.result.total} checks pass)"
            )
            for f in r.failing:
                self.stdout.write(f"  {f['status'].upper():8} {f['title']}: {f['reason']}")
