"""What happens to one step, for a real run and a dry run alike.

A worker (runs/runner.py) and a dry run (scaffolder/dry_run.py) both take a step through the
same three functions: `prepare_step` (the run kind resolves its inputs and `if`, an `each` step
becomes one input per item, every item is validated), `perform_step` (the kind runs once, or
once per item with every output key collected into a list) and `shown_inputs` (what the step
received, as stored and reported). Only the step kind's own method differs: `run` in a real
run, `dry_run` in a dry run, so a preview cannot drift from what a run does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from portal.lib.redaction import MASK, redact_data
from runs.registry import EACH_KEY, StepKind

if TYPE_CHECKING:
    from runs.context import StepContext


@dataclass
class PreparedStep:
    """A step's resolved inputs: one dict, or one per item of an `each` step."""

    should_run: bool
    inputs: dict[str, Any]
    iterations: list[dict[str, Any]] | None = None

    @property
    def items(self) -> list[dict[str, Any]]:
        return self.iterations if self.iterations is not None else [self.inputs]


def prepare_step(kind_cls: type[StepKind], resolved: tuple[dict[str, Any], bool]) -> PreparedStep:
    """Split what the run kind resolved into items and validate each; StepInputError says
    which field is wrong."""
    inputs, should_run = resolved
    if not should_run:
        return PreparedStep(should_run=False, inputs={})
    inputs = dict(inputs)
    iterations = inputs.pop(EACH_KEY) if isinstance(inputs.get(EACH_KEY), list) else None
    prepared = PreparedStep(should_run=True, inputs=inputs, iterations=iterations)
    for item in prepared.items:
        kind_cls.validate_inputs(item)
    return prepared


def perform_step(
    kind_cls: type[StepKind], ctx: StepContext, prepared: PreparedStep
) -> dict[str, Any]:
    """Run the step (its `dry_run` when ctx.dry_run). An `each` step runs once per item and
    every output key becomes a list, item by item (None where an item did not give it)."""
    if prepared.iterations is None:
        ctx.inputs = prepared.inputs
        return _once(kind_cls, ctx)
    collected: dict[str, list[Any]] = {}
    total = len(prepared.iterations)
    for index, item_inputs in enumerate(prepared.iterations):
        ctx.inputs = item_inputs
        ctx.log.info("Item %d of %d.", index + 1, total)
        for key, value in _once(kind_cls, ctx).items():
            collected.setdefault(key, [None] * index).append(value)
        for values in collected.values():
            values.extend([None] * (index + 1 - len(values)))
    return dict(collected)


def _once(kind_cls: type[StepKind], ctx: StepContext) -> dict[str, Any]:
    kind = kind_cls()
    return (kind.dry_run(ctx) if ctx.dry_run else kind.run(ctx)) or {}


def shown_inputs(kind_cls: type[StepKind], prepared: PreparedStep) -> dict[str, Any]:
    """The inputs as stored on the step and shown in reports: the kind's secret inputs masked,
    known secret values redacted."""

    def one(inputs: dict[str, Any]) -> dict[str, Any]:
        shown = {k: (MASK if k in kind_cls.secret_inputs else v) for k, v in inputs.items()}
        return dict(redact_data(shown))

    if prepared.iterations is not None:
        return {EACH_KEY: [one(item) for item in prepared.iterations]}
    return one(prepared.inputs)
