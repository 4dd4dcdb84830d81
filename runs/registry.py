"""Step kinds are classes registered by name; run kinds may add an input resolver."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import jsonschema

if TYPE_CHECKING:
    from pathlib import Path

    from runs.authority import Write
    from runs.context import StepContext
    from runs.models import Run, Step


# What a step kind writes (StepKind.writes).
NOTHING = "nothing"
OUTSIDE = "outside"

# Key under which a run kind returns one input dict per item of a Backstage `each` step.
EACH_KEY = "__each__"


class StepInputError(ValueError):
    """A step's inputs do not match its schema. `problems` lists one message per field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class StepKind:
    """Base class of a step kind. Subclasses set `name`, `input_schema` and implement `run`.

    `run` must be idempotent: the engine may call it again after a crash or a retry, with the
    same inputs, and the second call must not duplicate side effects.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    input_schema: ClassVar[dict[str, Any]] = {"type": "object"}
    # Keys of the inputs whose values are secrets; they are redacted before being stored.
    secret_inputs: ClassVar[tuple[str, ...]] = ()
    # How long a worker holds the step before another may take it over, as a multiple of
    # PAVED_STEP_LEASE_SECONDS. Never a number of seconds: the engine extends the lease while
    # the step works, so a short lease never steals live work and 1 suits nearly every kind.
    lease_multiple: ClassVar[int] = 1
    # Kinds with no side effect outside the run's workspace: a dry run runs them for real (in a
    # throw-away workspace); it only pretends the others (`dry_run`).
    dry_run_safe: ClassVar[bool] = False
    # Steps that write the run's workspace; a retry runs them again when the workspace was
    # garbage-collected, so that later steps find the files they need.
    writes_workspace: ClassVar[bool] = False
    # Every kind declares whether it writes outside the run's own workspace: NOTHING (it
    # inspects, logs, or writes only the workspace) or OUTSIDE, and then `write_targets` says
    # where, so the engine can authorize it (engine/authority.py). register_step refuses a kind
    # that declares neither: a new action cannot forget the check.
    writes: ClassVar[str] = ""
    # Steps that only Paved's own flows add (e.g. infra); a template may not name them.
    internal: ClassVar[bool] = False

    def run(self, ctx: StepContext) -> dict[str, Any]:
        raise NotImplementedError

    def dry_run(self, ctx: StepContext) -> dict[str, Any]:
        """What the step does in a dry run (ctx.dry_run): the real thing for `dry_run_safe`
        kinds; for the others nothing but a log line and plausible outputs."""
        if self.dry_run_safe:
            return self.run(ctx)
        ctx.log.info("Not executed in a dry run: %s", self.name)
        return self.dry_run_outputs_in(ctx.inputs, ctx.workspace)

    @classmethod
    def dry_run_outputs(cls, inputs: dict[str, Any]) -> dict[str, Any]:
        """Plausible outputs for `scaffold dry-run`, computed without side effects, so that
        later steps' expressions (`steps.publish.output.remoteUrl`) can still be shown."""
        return {}

    @classmethod
    def dry_run_outputs_in(cls, inputs: dict[str, Any], workspace: Path) -> dict[str, Any]:
        """`dry_run_outputs`, for kinds whose outputs follow from the files the dry run has
        written so far (catalog:register: the entity the workspace's catalog-info.yaml names)."""
        return cls.dry_run_outputs(inputs)

    @classmethod
    def write_targets(cls, inputs: dict[str, Any], run: Run) -> list[Write]:
        """Where this step is about to write, from its resolved inputs (writes == OUTSIDE)."""
        return []

    def compensate(self, ctx: StepContext) -> None:
        """Undo what `run` did, when the run is rolled back. Default: nothing to undo."""
        return

    @classmethod
    def validate_inputs(cls, inputs: dict[str, Any]) -> None:
        validator = jsonschema.Draft202012Validator(cls.input_schema)
        errors = sorted(validator.iter_errors(inputs), key=lambda e: list(e.absolute_path))
        if errors:
            problems = []
            for error in errors:
                where = ".".join(str(p) for p in error.absolute_path) or "input"
                problems.append(f"{where}: {error.message}")
            raise StepInputError(problems)


_STEP_KINDS: dict[str, type[StepKind]] = {}


def register_step[T: type[StepKind]](cls: T) -> T:
    """Class decorator: make a step kind available to runs under its `name`."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.writes not in (NOTHING, OUTSIDE):
        raise ValueError(
            f"{cls.__name__} must declare writes = NOTHING or OUTSIDE (engine/authority.py)"
        )
    if cls.writes == OUTSIDE and cls.write_targets.__func__ is StepKind.write_targets.__func__:  # type: ignore[attr-defined]
        raise ValueError(f"{cls.__name__} writes outside its workspace but has no write_targets")
    if any("lease_seconds" in vars(klass) for klass in cls.__mro__):
        raise ValueError(
            f"{cls.__name__} sets lease_seconds; leases come from PAVED_STEP_LEASE_SECONDS "
            "(a kind may ask for a multiple of it with lease_multiple)"
        )
    multiple = cls.lease_multiple
    if type(multiple) is not int or not 1 <= multiple <= 10:
        raise ValueError(f"{cls.__name__}.lease_multiple must be a whole number from 1 to 10")
    existing = _STEP_KINDS.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"step kind {cls.name!r} is already registered by {existing.__name__}")
    _STEP_KINDS[cls.name] = cls
    return cls


def get_step_kind(name: str) -> type[StepKind]:
    try:
        return _STEP_KINDS[name]
    except KeyError:
        known = ", ".join(sorted(_STEP_KINDS)) or "none"
        raise KeyError(f"unknown step kind {name!r}; known kinds: {known}") from None


def step_kinds() -> dict[str, type[StepKind]]:
    return dict(_STEP_KINDS)


def load_extra_step_modules(modules: list[str]) -> None:
    for module in modules:
        importlib.import_module(module)


@dataclass
class RunKindHooks:
    """How a kind of run turns a step's stored inputs into the values it runs with."""

    # Returns (resolved inputs, should_run). Default: inputs as stored, always run.
    resolve_inputs: Callable[[Run, Step], tuple[dict[str, Any], bool]] | None = None
    # Computes the run's outputs once every step is done.
    resolve_outputs: Callable[[Run], dict[str, Any]] | None = None
    # Called when a run reaches a final status (e.g. infra marks its request ready or failed).
    on_finished: Callable[[Run], None] | None = None
    # Whether the requester is notified when the run finishes (infra tells them through the
    # request's own notifications instead).
    notify_requester: bool = True


_RUN_KINDS: dict[str, RunKindHooks] = {}


def register_run_kind(kind: str, hooks: RunKindHooks) -> None:
    _RUN_KINDS[kind] = hooks


def run_kind_hooks(kind: str) -> RunKindHooks:
    return _RUN_KINDS.get(kind) or RunKindHooks()
