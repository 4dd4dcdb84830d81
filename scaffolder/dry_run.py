"""Run a template without side effects (`scaffold dry-run`, the template editor).

fetch:* and fs:* actions really run, in a throw-away workspace; every other action is not
executed: its input is resolved and reported, and it contributes plausible outputs
(`dry_run_outputs`) so that later expressions can still be evaluated and shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portal.lib.redaction import redact, redact_data, redacting
from portal.providers.base import ProviderError
from scaffolder.engine.context import StepContext
from scaffolder.engine.registry import EACH_KEY, StepInputError, get_step_kind
from scaffolder.expressions import ExpressionError
from scaffolder.loader import Template
from scaffolder.models import Run, Step
from scaffolder.parameters import format_errors, secret_parameter_names, validate_values
from scaffolder.platform import platform_context
from scaffolder.run_kind import expression_variables, render_output, resolve_step
from scaffolder.workspace import UnsafePath, workspace_files

EXECUTED_PREFIXES = ("fetch:", "fs:")
logger = logging.getLogger(__name__)


class DryRunLog:
    """Collects log lines in memory, with StepLogger's interface."""

    def __init__(self, lines: list[str], step_key: str) -> None:
        self.lines = lines
        self.step_key = step_key

    def _write(self, level: str, message: str, *args: Any) -> None:
        self.lines.append(f"[{self.step_key}] {level} {message % args if args else message}")

    def debug(self, message: str, *args: Any) -> None:
        self._write("DEBUG", message, *args)

    def info(self, message: str, *args: Any) -> None:
        self._write("INFO", message, *args)

    def warning(self, message: str, *args: Any) -> None:
        self._write("WARNING", message, *args)

    def error(self, message: str, *args: Any) -> None:
        self._write("ERROR", message, *args)


@dataclass
class DryRunResult:
    status: str = "completed"
    steps: list[dict[str, Any]] = field(default_factory=list)
    output: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    log: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "steps": self.steps,
            "output": self.output,
            "error": self.error,
        }


def template_context(
    template: Template, *, version_id: int | None = None, version: int | None = None
) -> dict[str, Any]:
    """What a run stores about its template (Run.context["template"])."""
    steps = template.steps
    return {
        "ref": template.ref,
        "title": template.title,
        "version_id": version_id,
        "version": version,
        "base_dir": str(template.base_dir) if template.base_dir else "",
        "output": template.output,
        "each": {_step_id(s, i): s["each"] for i, s in enumerate(steps) if "each" in s},
        "conditions": {_step_id(s, i): s["if"] for i, s in enumerate(steps) if "if" in s},
    }


def _step_id(step: dict[str, Any], index: int) -> str:
    return str(step.get("id") or f"step-{index + 1}")


def dry_run(
    template: Template,
    values: dict[str, Any],
    *,
    workspace: Path,
    user: dict[str, Any] | None = None,
    platform: dict[str, Any] | None = None,
    task_id: Any = "dry-run",
    known_outputs: dict[str, dict[str, Any]] | None = None,
) -> DryRunResult:
    """`known_outputs`: what a real run's non-file steps answered, used instead of the
    plausible outputs (a template upgrade re-renders exactly what the run wrote)."""
    result = DryRunResult()
    platform = platform if platform is not None else platform_context()
    # A dry-run needs no catalog: picked entities are checked for form and kind only.
    clean, errors = validate_values(template.pages, values, check_catalog=False)
    if errors:
        result.status = "failed"
        result.error = "invalid values: " + "; ".join(format_errors(errors))
        return result
    workspace.mkdir(parents=True, exist_ok=True)
    secret_values = {
        name: clean[name]
        for name in secret_parameter_names(template.pages)
        if clean.get(name) not in (None, "")
    }
    run = Run(
        kind="scaffolder",
        title=template.title,
        inputs=clean,
        context={
            "template": template_context(template),
            "user": user or {},
            "platform": platform,
        },
    )
    outputs: dict[str, dict[str, Any]] = {}

    def current_variables() -> dict[str, Any]:
        """What expressions see now: the values and the outputs of the steps so far."""
        return expression_variables(
            parameters=clean,
            step_outputs=outputs,
            user=user,
            task_id=task_id,
            secrets=secret_values,
            platform=platform,
        )

    failed = False
    for index, spec in enumerate(template.steps):
        key = _step_id(spec, index)
        action = str(spec["action"])
        row: dict[str, Any] = {
            "id": key,
            "name": spec.get("name") or key,
            "action": action,
            "status": "completed",
            "input": {},
        }
        result.steps.append(row)
        if failed:
            row["status"] = "skipped"
            continue
        variables = current_variables()
        try:
            inputs, should_run = resolve_step(
                key=key,
                raw_inputs=spec.get("input") or {},
                condition=spec.get("if"),
                each=spec.get("each"),
                variables=variables,
            )
        except ExpressionError as exc:
            row["status"], failed, result.error = "failed", True, str(exc)
            continue
        if not should_run:
            row["status"] = "skipped"
            outputs[key] = {}
            continue
        iterations = inputs.pop(EACH_KEY) if EACH_KEY in inputs else None
        row["input"] = {EACH_KEY: iterations} if iterations is not None else inputs
        kind = get_step_kind(action)
        executed = action.startswith(EXECUTED_PREFIXES)
        row["executed"] = executed
        try:
            step_outputs: dict[str, Any] = {}
            for item in iterations if iterations is not None else [inputs]:
                kind.validate_inputs(item)
                if executed:
                    ctx = StepContext(
                        run=run,
                        step=Step(key=key, name=row["name"], kind=action),
                        inputs=item,
                        log=DryRunLog(result.log, key),  # type: ignore[arg-type]
                        claim_token="dry-run",  # noqa: S106
                        lease_seconds=0,
                        dry_run=True,
                        step_outputs=outputs,
                        workspace=workspace,
                    )
                    step_outputs.update(kind().run(ctx) or {})
                elif known_outputs is not None and key in known_outputs:
                    step_outputs.update(known_outputs[key])
                else:
                    result.log.append(f"[{key}] INFO Not executed in a dry run: {action}")
                    step_outputs.update(kind.dry_run_outputs_in(item, workspace))
            outputs[key] = step_outputs
        except (
            StepInputError,
            ProviderError,
            UnsafePath,
            ExpressionError,
            ValueError,
            OSError,
        ) as exc:
            message = f"invalid input: {exc}" if isinstance(exc, StepInputError) else str(exc)
            row["status"], failed = "failed", True
            result.error = f"Step '{key}' failed: {message}"
    if not failed:
        try:
            variables = current_variables()
            result.output = render_output(template.output, variables, dry_run=True)
        except ExpressionError as exc:
            failed, result.error = True, str(exc)
    result.status = "failed" if failed else "completed"
    result.files = workspace_files(workspace)
    # The report is shown on pages and printed: secret field values never appear in it.
    with redacting(secret_values.values()):
        result.steps = redact_data(result.steps)
        result.output = redact_data(result.output)
        result.log = [redact(line) for line in result.log]
        result.error = redact(result.error) if result.error else result.error
    return result
