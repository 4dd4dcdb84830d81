"""Run a template without side effects (`scaffold dry-run`, the template editor).

The steps go through the engine's own step procedure (runs/stepping.py), exactly as a worker
takes them, with each step kind's `dry_run` in place of `run`: fetch:* and fs:* kinds
(`dry_run_safe`) really run, in a throw-away workspace; every other kind is not executed: its
input is resolved and reported, and it contributes plausible outputs (`dry_run_outputs`) so
that later expressions can still be evaluated and shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portal.lib.redaction import redact, redact_data, redacting
from portal.providers.base import ProviderError
from runs.context import StepContext
from runs.models import Run, Step
from runs.registry import StepInputError, get_step_kind
from runs.stepping import perform_step, prepare_step, shown_inputs
from runs.workspace import UnsafePath, workspace_files
from scaffolder.expressions import ExpressionError
from scaffolder.loader import Template, step_id
from scaffolder.parameters import format_errors, secret_parameter_names, validate_values
from scaffolder.platform import platform_context
from scaffolder.run_kind import (
    RUN_KIND,
    expression_variables,
    render_output,
    resolve_step_inputs,
    template_step_specs,
)

logger = logging.getLogger(__name__)
# What a failing step's message may come from; anything else is a bug and propagates.
STEP_ERRORS = (StepInputError, ProviderError, UnsafePath, ExpressionError, ValueError, OSError)


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

    def info_lines(self, lines: list[str]) -> None:
        for line in lines:
            self._write("INFO", line)

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
        "each": {step_id(s, i): s["each"] for i, s in enumerate(steps) if "each" in s},
        "conditions": {step_id(s, i): s["if"] for i, s in enumerate(steps) if "if" in s},
    }


@dataclass
class _DryRun:
    """The in-memory state a dry run walks the steps with: what a Run's rows hold for a worker."""

    run: Run
    workspace: Path
    result: DryRunResult
    variables: dict[str, Any]
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # What a real run's non-file steps answered (a template upgrade re-renders what it wrote).
    known_outputs: dict[str, dict[str, Any]] | None = None

    def current_variables(self) -> dict[str, Any]:
        """What expressions see now: the values and the outputs of the steps so far."""
        return expression_variables(**self.variables, step_outputs=self.outputs)

    def step(self, step: Step) -> dict[str, Any]:
        """One step, as a worker takes it; returns its report row. Raises STEP_ERRORS."""
        row: dict[str, Any] = {"id": step.key, "name": step.name, "action": step.kind,
                               "status": "completed", "input": {}}  # fmt: skip
        self.result.steps.append(row)
        kind_cls = get_step_kind(step.kind)
        try:
            resolved = resolve_step_inputs(self.run, step, self.current_variables())
        except ExpressionError as exc:
            raise _Unresolved(str(exc)) from exc
        prepared = prepare_step(kind_cls, resolved)
        if not prepared.should_run:
            row["status"] = "skipped"
            self.outputs[step.key] = {}
            return row
        row["input"] = shown_inputs(kind_cls, prepared)
        row["executed"] = kind_cls.dry_run_safe
        ctx = StepContext(
            run=self.run,
            step=step,
            inputs=prepared.inputs,
            log=DryRunLog(self.result.log, step.key),  # type: ignore[arg-type]
            claim_token="dry-run",  # noqa: S106
            lease_seconds=0,
            dry_run=True,
            step_outputs=self.outputs,
            workspace=self.workspace,
        )
        if not kind_cls.dry_run_safe and self.known_outputs and step.key in self.known_outputs:
            self.outputs[step.key] = row["output"] = dict(self.known_outputs[step.key])
            return row
        self.outputs[step.key] = row["output"] = perform_step(kind_cls, ctx, prepared)
        return row

    def all_steps(self, steps: list[Step]) -> bool:
        """Every step in order; after a failure the rest are skipped. True when none failed."""
        for index, step in enumerate(steps):
            try:
                self.step(step)
            except STEP_ERRORS as exc:
                self.result.steps[index]["status"] = "failed"
                self.result.error = _failure(step.key, exc)
                for later in steps[index + 1 :]:
                    self.result.steps.append({"id": later.key, "name": later.name,
                                              "action": later.kind, "status": "skipped",
                                              "input": {}})  # fmt: skip
                return False
        return True


class _Unresolved(ValueError):
    """A step's `if`, `each` or input expression failed: the message names the step already."""


def _failure(key: str, exc: Exception) -> str:
    if isinstance(exc, _Unresolved):
        return str(exc)
    message = f"invalid input: {exc}" if isinstance(exc, StepInputError) else str(exc)
    return f"Step '{key}' failed: {message}"


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
        kind=RUN_KIND,
        title=template.title,
        inputs=clean,
        context={"template": template_context(template), "user": user or {},
                 "platform": platform},
    )  # fmt: skip
    steps = [
        Step(run=run, position=position, key=spec.key, name=spec.name, kind=spec.kind,
             inputs=spec.inputs, condition=spec.condition)
        for position, spec in enumerate(template_step_specs(template))
    ]  # fmt: skip
    walk = _DryRun(run=run, workspace=workspace, result=result, known_outputs=known_outputs,
                   variables={"parameters": clean, "user": user, "task_id": task_id,
                              "secrets": secret_values, "platform": platform})  # fmt: skip
    failed = not walk.all_steps(steps)
    if not failed:
        try:
            result.output = render_output(template.output, walk.current_variables(), dry_run=True)
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
