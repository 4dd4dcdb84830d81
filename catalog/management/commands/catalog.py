"""`manage.py catalog validate|import`: check catalog files, or register and ingest locations."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Validate catalog YAML files, or import locations into the catalog."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        validate = sub.add_parser("validate", help="validate documents without writing anything")
        validate.add_argument("paths", nargs="+", metavar="PATH")
        validate.add_argument("--json", action="store_true", help="print one JSON array")
        imp = sub.add_parser("import", help="register locations and ingest them now")
        imp.add_argument("targets", nargs="+", metavar="PATH_OR_URL")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "validate":
            code = self._validate(options["paths"], as_json=options["json"])
        else:
            code = self._import(options["targets"])
        if code:
            sys.stdout.flush()
            sys.exit(code)

    def _validate(self, paths: list[str], *, as_json: bool) -> int:
        from catalog.checking import FileProblem, check_file
        from catalog.kinds import extra_kind_schemas

        extra = extra_kind_schemas()
        reports = []
        problems = []
        for path in paths:
            try:
                reports.extend(check_file(path, extra_kinds=extra))
            except FileProblem as exc:
                problems.append(str(exc))
        if as_json:
            self.stdout.write(json.dumps([r.as_json() for r in reports], indent=1))
        else:
            for r in reports:
                label = f"{r.path}[{r.index}] {r.kind or '?'} {r.name or '?'}"
                if r.valid:
                    self.stdout.write(f"ok       {label}")
                else:
                    self.stdout.write(f"INVALID  {label}")
                    for error in r.errors:
                        self.stdout.write(f"           document {r.index}: {error}")
                for warning in r.warnings:
                    self.stdout.write(f"  warning  document {r.index}: {warning}")
            invalid = sum(1 for r in reports if not r.valid)
            self.stdout.write(
                f"{len(reports)} documents, {len(reports) - invalid} valid, {invalid} invalid"
                + (f", {len(problems)} unreadable files" if problems else "")
            )
        for problem in problems:
            self.stderr.write(f"error: {problem}")
        if problems:
            return 2
        return 1 if any(not r.valid for r in reports) else 0

    def _import(self, targets: list[str]) -> int:
        from catalog.services import import_locations

        try:
            results = import_locations(targets=targets, actor=None)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        failed = False
        for result in results:
            self.stdout.write(
                f"{result.location}: added {result.added}, updated {result.updated}, "
                f"unchanged {result.unchanged}, invalid {result.invalid}"
                + (f", orphaned {result.orphaned}" if result.orphaned else "")
            )
            for error in result.errors:
                failed = True
                self.stderr.write(f"  error: {error}")
            for ref, errors in result.entity_errors.items():
                for error in errors:
                    self.stderr.write(f"  {ref}: {error}")
        return 1 if failed else 0
