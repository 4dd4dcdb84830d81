"""`manage.py infra render REQUEST.yaml [--json]` and
`manage.py infra export-crossplane DIR [--crossplane v2|v1]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from django.core.management.base import BaseCommand, CommandError, CommandParser

from infra.crossplane import EXPORT_TARGETS, ExportError, to_json, to_yaml
from infra.export import export_crossplane
from infra.validation import RequestInvalid, RequestSpec, validate_request


class Command(BaseCommand):
    help = "Self-service infrastructure: render a request's claim, export XRDs and Compositions."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        render = sub.add_parser(
            "render", help="Validate a request and print its claim (no side effects)."
        )
        render.add_argument("request_file", help="YAML: {resourceClass, name, namespace, ...}")
        render.add_argument("--json", action="store_true", help="Print JSON instead of YAML.")
        export = sub.add_parser(
            "export-crossplane", help="Write the XRDs and Compositions as YAML files."
        )
        export.add_argument("directory")
        export.add_argument(
            "--crossplane",
            choices=EXPORT_TARGETS,
            default="v2",
            help="The control plane: v2 (Pipeline mode, default) or v1 (Crossplane 1.x).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "render":
            self._render(options["request_file"], as_json=options["json"])
        else:
            try:
                written = export_crossplane(
                    Path(options["directory"]), crossplane=options["crossplane"]
                )
            except ExportError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"Wrote {len(written)} files to {options['directory']}.")

    def _render(self, path: str, *, as_json: bool) -> None:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CommandError(f"{path} is not valid YAML: {exc}") from exc
        if not isinstance(doc, dict):
            raise CommandError(f"{path} must hold a mapping such as {{resourceClass: postgresql}}")
        problems: list[str] = []
        if not isinstance(doc.get("parameters", {}), dict):
            problems.append("parameters: must be a mapping")
        for key in ("resourceClass", "name", "namespace", "environment"):
            if key == "namespace" and doc.get("component"):
                continue  # it follows from the component
            if not doc.get(key) and not (key == "resourceClass" and doc.get("resource_class")):
                problems.append(f"{key}: is required")
        if not problems:
            try:
                checked = validate_request(RequestSpec.from_document(doc), require_component=False)
            except RequestInvalid as exc:
                problems = [str(p) for p in exc.problems]
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise SystemExit(1)
        self.stdout.write(to_json(checked.claim) if as_json else to_yaml(checked.claim), ending="")
        if as_json:
            self.stdout.write("")
