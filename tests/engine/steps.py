"""Step kinds used by the engine tests; loaded into worker subprocesses through
PAVED_EXTRA_STEP_MODULES. Their side effects are files, so tests can count them."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, ClassVar

from portal.providers.base import PermanentProviderError, TransientProviderError
from runs.context import StepContext
from runs.registry import NOTHING, StepKind, register_step


def _effects_dir() -> Path:
    return Path(os.environ.get("PAVED_TEST_SIDE_EFFECTS", "/tmp/paved-test-effects"))


@register_step
class SideEffect(StepKind):
    """Writes a marker file once (idempotent by run and step), then works for a while."""

    name = "test:side-effect"
    writes = NOTHING
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"seconds": {"type": "number"}, "label": {"type": "string"}},
        "required": ["label"],
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        marker = _effects_dir() / f"run{ctx.run.pk}-{ctx.step.key}"
        if marker.exists():
            ctx.log.info("Side effect %s already there; not repeating it.", ctx.inputs["label"])
        else:
            marker.write_text(ctx.inputs["label"])
            with (_effects_dir() / "journal").open("a") as journal:
                journal.write(f"{ctx.run.pk}:{ctx.step.key}\n")
            ctx.log.info("Side effect %s done.", ctx.inputs["label"])
        # No ctx.heartbeat(): the engine keeps the lease alive while this process lives.
        time.sleep(float(ctx.inputs.get("seconds", 0)))
        return {"label": ctx.inputs["label"], "attempt": ctx.step.attempt}


@register_step
class Flaky(StepKind):
    """Fails with a transient error the first `failures` times, then succeeds."""

    name = "test:flaky"
    writes = NOTHING
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"failures": {"type": "integer", "minimum": 0}},
        "required": ["failures"],
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        if ctx.step.attempt <= ctx.inputs["failures"]:
            raise TransientProviderError("the git host answered 503", provider="test")
        return {"attempts": ctx.step.attempt}


@register_step
class Broken(StepKind):
    """Fails permanently, unless the file named by `unless_file` exists (to test retry)."""

    name = "test:broken"
    writes = NOTHING
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"unless_file": {"type": "string"}, "token": {"type": "string"}},
    }
    secret_inputs = ("token",)

    def run(self, ctx: StepContext) -> dict[str, Any]:
        flag = ctx.inputs.get("unless_file")
        if flag and Path(flag).exists():
            return {"fixed": True}
        raise PermanentProviderError(
            f"repository name is taken (token {ctx.inputs.get('token', '')})", provider="test"
        )
