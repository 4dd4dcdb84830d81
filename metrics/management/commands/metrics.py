"""`manage.py metrics <subcommand>`: import-events, dora, refresh-rollups, relink, weekly-report."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from metrics import dora
from metrics.events import normalize_environment
from metrics.imports import ImportFailed, file_lines, import_file
from metrics.ingestion import ingest_generic
from metrics.relinking import relink_unlinked


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date; use YYYY-MM-DD") from None


def _check_scope_exists(scope: dora.Scope) -> None:
    """A name nobody knows would print zeros that look like real numbers: refuse it."""
    from catalog.models import Entity
    from metrics.models import Deployment

    if scope.kind == "component":
        key = scope.value.strip().lower()
        known = (
            Entity.objects.filter(kind__iexact="component", name__iexact=key).exists()
            or Deployment.objects.filter(component_key=key).exists()
        )
        if not known:
            raise CommandError(
                f"no component {scope.value!r}: it is neither in the catalog nor named by any "
                "event (see /metrics/unlinked/ for the names events use)"
            )
    elif scope.kind == "team":
        refs = dora.team_refs(scope.value)
        known = (
            Entity.objects.filter(kind__iexact="group", ref__in=refs).exists()
            or Entity.objects.filter(kind__iexact="component", owner_ref__in=refs).exists()
        )
        if not known:
            raise CommandError(
                f"no team {scope.value!r}: no catalog group or component owner is "
                f"{' or '.join(refs)}"
            )


class Command(BaseCommand):
    help = "Delivery metrics: import events, print DORA metrics, refresh rollups."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        imp = sub.add_parser("import-events", help="Load generic events from a JSON-lines file.")
        imp.add_argument("file", help="Path to a .jsonl file ('-' is not supported).")
        imp.add_argument("--json", action="store_true", help="Print the counts as JSON.")
        imp.add_argument(
            "--jobs",
            type=int,
            default=1,
            help="Import in this many processes, each taking whole components (PostgreSQL).",
        )
        imp.add_argument("--shard", help=argparse.SUPPRESS)  # i/N: a child of --jobs
        imp.add_argument("--no-rollups", action="store_true", help=argparse.SUPPRESS)

        d = sub.add_parser("dora", help="Print DORA metrics for a window.")
        who = d.add_mutually_exclusive_group()
        who.add_argument("--component")
        who.add_argument("--team")
        d.add_argument("--since", required=True)
        d.add_argument("--until", required=True)
        d.add_argument("--environment", default="production")
        d.add_argument("--benchmark", type=int, default=None, help="Benchmark year (2023).")
        d.add_argument("--json", action="store_true")

        sub.add_parser("refresh-rollups", help="Recompute dirty daily rollups.").add_argument(
            "--full", action="store_true", help="Rebuild every rollup from the base tables."
        )
        sub.add_parser("relink", help="Link events that arrived before their component was known.")
        sub.add_parser("weekly-report", help="Generate (and send) last week's report now.")

    def handle(self, *args: Any, **opts: Any) -> None:
        getattr(self, "_" + opts["subcommand"].replace("-", "_"))(opts)

    def _import_events(self, opts: dict[str, Any]) -> None:
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"{path} does not exist or is not a file")
        if opts["jobs"] < 1:
            raise CommandError("--jobs must be 1 or more")
        if opts["shard"]:
            index, _, count = opts["shard"].partition("/")
            result = ingest_generic(file_lines(path, (int(index), int(count))), background=True)
        else:
            try:
                result = import_file(path, jobs=opts["jobs"])
            except ImportFailed as exc:
                raise CommandError(f"the import failed: {exc}") from None
        if not opts["no_rollups"]:
            from metrics.rollups import refresh_rollups

            refresh_rollups()
        if opts["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
            return
        self.stdout.write(
            f"loaded {result.loaded}, duplicate {result.duplicate}, invalid {len(result.invalid)}"
        )
        for where, reason in result.invalid:
            self.stdout.write(f"  line {where}: invalid: {reason}")
        if result.unlinked:
            self.stdout.write(
                f"  {result.unlinked} loaded events name no catalog component yet (listed as unlinked)"
            )

    def _dora(self, opts: dict[str, Any]) -> None:
        try:
            window = dora.Window(_date(opts["since"]), _date(opts["until"]))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if opts["component"]:
            scope = dora.Scope("component", opts["component"])
        elif opts["team"]:
            scope = dora.Scope("team", opts["team"])
        else:
            scope = dora.Scope()
        _check_scope_exists(scope)
        # The same spelling rules as ingestion: "prod" is stored as "production".
        env = normalize_environment(opts["environment"])
        try:
            summary = dora.dora_summary(scope, window, env, year=opts["benchmark"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if opts["json"]:
            self.stdout.write(json.dumps(summary))
            return
        self.stdout.write(f"{scope.label}, {env}, {window.since}..{window.until}")
        for key, value in summary.items():
            self.stdout.write(f"  {key}: {value}")

    def _refresh_rollups(self, opts: dict[str, Any]) -> None:
        from metrics.rollups import rebuild_rollups, refresh_rollups

        n = rebuild_rollups() if opts["full"] else refresh_rollups()
        self.stdout.write(f"refreshed {n} component-days")

    def _relink(self, opts: dict[str, Any]) -> None:
        n = relink_unlinked()
        from metrics.rollups import refresh_rollups

        refresh_rollups()
        self.stdout.write(f"linked {n} rows")

    def _weekly_report(self, opts: dict[str, Any]) -> None:
        from metrics.reports import generate_weekly_report

        report = generate_weekly_report()
        self.stdout.write(f"weekly report for week of {report.week_start} generated")
