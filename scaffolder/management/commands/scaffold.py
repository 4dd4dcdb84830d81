"""`scaffold dry-run TEMPLATE.yaml --values V.json --output DIR [--json]` and
`scaffold run TEMPLATE_REF --values V.json --as USER`."""

from __future__ import annotations

import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from catalog.models import Entity
from runs.models import Run
from runs.runner import RunStartError
from scaffolder.dry_run import dry_run
from scaffolder.loader import TemplateInvalid, load_template_file
from scaffolder.models import TemplateVersion

logger = logging.getLogger(__name__)


def _read_values(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read values from {path}: {exc}") from None
    if not isinstance(values, dict):
        raise CommandError(f"{path} must hold a JSON object of parameter values")
    return values


class Command(BaseCommand):
    help = "Dry-run a software template, or run one for real."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        dry = sub.add_parser("dry-run", help="Render a template without side effects.")
        dry.add_argument("template")
        dry.add_argument("--values")
        dry.add_argument("--output", required=True)
        dry.add_argument("--json", action="store_true")
        run = sub.add_parser("run", help="Start a real run and wait for it.")
        run.add_argument("template_ref")
        run.add_argument("--values")
        run.add_argument("--as", dest="username", required=True)
        run.add_argument("--timeout", type=float, default=600)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "dry-run":
            sys.exit(self.dry_run(options))
        sys.exit(self.run(options))

    def dry_run(self, options: dict[str, Any]) -> int:
        try:
            template = load_template_file(options["template"])
        except TemplateInvalid as exc:
            return self._refuse(options, f"Invalid template:\n{exc}", str(exc), code=2)
        try:
            values = _read_values(options.get("values"))
        except CommandError as exc:
            return self._refuse(options, str(exc), str(exc), code=1)
        output_dir = Path(options["output"])
        if output_dir.exists() and not output_dir.is_dir():
            problem = f"--output {output_dir} is a file; give a folder (created if missing)"
            return self._refuse(options, problem, problem, code=1)
        with tempfile.TemporaryDirectory(prefix="paved-dry-run-") as tmp:
            try:
                result = dry_run(template, values, workspace=Path(tmp) / "workspace")
            except Exception as exc:
                # A template must never turn into a traceback with nothing on stdout: say what
                # broke, in the --json shape too, and log the details for the maintainers.
                logger.exception("dry-run of %s crashed", options["template"])
                problem = f"the dry run stopped on an unexpected error: {type(exc).__name__}: {exc}"
                return self._refuse(options, problem, problem, code=1)
            workspace = Path(tmp) / "workspace"
            try:
                output_dir.mkdir(parents=True, exist_ok=True)
                if workspace.exists():
                    shutil.copytree(workspace, output_dir, dirs_exist_ok=True, symlinks=True)
            except OSError as exc:
                problem = f"cannot write the files to {output_dir}: {exc}"
                return self._refuse(options, problem, problem, code=1)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), indent=2, default=str))
        else:
            for step in result.steps:
                self.stdout.write(f"{step['status']:>9}  {step['id']} ({step['action']})")
            for link in result.output.get("links", []):
                self.stdout.write(f"link: {link['title']}: {link['url']}")
            self.stdout.write(
                f"{result.status}: {len(result.files)} file(s) written to {output_dir}"
            )
            if result.error:
                self.stderr.write(result.error)
        return 0 if result.status == "completed" else 1

    def _refuse(self, options: dict[str, Any], message: str, error: str, *, code: int) -> int:
        """Say why nothing ran, in the --json shape too, and return the exit code."""
        if options["json"]:
            self.stdout.write(
                json.dumps({"status": "failed", "steps": [], "output": {}, "error": error})
            )
        self.stderr.write(message)
        return code

    def run(self, options: dict[str, Any]) -> int:
        from scaffolder.services import start_template_run, version_for_entity

        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user {options['username']!r}")
        ref = options["template_ref"].lower()
        if ":" not in ref:
            ref = f"template:default/{ref}" if "/" not in ref else f"template:{ref}"
        entity = Entity.objects.filter(ref=ref, kind__iexact="template").first()
        try:
            if entity is not None:
                version = version_for_entity(entity, actor=user)
            else:
                found = TemplateVersion.objects.filter(ref=ref).order_by("-version").first()
                if found is None:
                    raise CommandError(f"no template {ref!r} in the catalog")
                version = found
            run = start_template_run(
                version=version, values=_read_values(options.get("values")), actor=user
            )
        except TemplateInvalid as exc:
            self.stderr.write(f"Invalid template:\n{exc}")
            return 2
        except RunStartError as exc:
            self.stderr.write("Cannot start the run:\n" + "\n".join(exc.problems))
            return 1
        self.stdout.write(f"Started run #{run.pk}: {run.title}")
        deadline = time.monotonic() + options["timeout"]
        while time.monotonic() < deadline:
            run = Run.objects.get(pk=run.pk)
            if run.is_finished:
                break
            time.sleep(0.2)
        for step in run.steps.order_by("position"):
            self.stdout.write(f"{step.status:>9}  {step.key} ({step.kind}) {step.error}")
        base = settings.PAVED_BASE_URL.rstrip("/") + "/"
        for link in (run.outputs or {}).get("links", []):
            # Pages of the portal are linked relative to it; a terminal needs the full address.
            url = urljoin(base, str(link["url"]))
            self.stdout.write(f"link: {link['title']}: {url}")
        page = urljoin(base, reverse("runs:run-detail", args=[run.pk]))
        self.stdout.write(f"Run #{run.pk} {run.status}: {page} {run.error}".rstrip())
        return 0 if run.status == "succeeded" else 1
