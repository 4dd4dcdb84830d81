"""Backstage's debug actions: write to the log, and wait."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from runs.context import StepContext
from runs.registry import NOTHING, StepKind, register_step

MAX_WAIT_SECONDS = 600


@register_step
class DebugLog(StepKind):
    name = "debug:log"
    writes = NOTHING
    title = "Write a message to the log"
    dry_run_safe = True
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "message": {"type": "string", "maxLength": 10000},
            "listWorkspace": {"type": ["boolean", "string"]},
        },
        "additionalProperties": True,
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        message = ctx.inputs.get("message", "")
        if message:
            ctx.log.info("%s", message)
        if ctx.inputs.get("listWorkspace") and ctx.workspace is not None:
            root = ctx.workspace
            files = [str(p.relative_to(root)) for p in sorted(root.rglob("*")) if p.is_file()]
            ctx.log.info_lines(files)
        return {}


@register_step
class DebugWait(StepKind):
    name = "debug:wait"
    writes = NOTHING
    title = "Wait for a while"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "minutes": {"type": "number", "minimum": 0},
            "seconds": {"type": "number", "minimum": 0},
            "milliseconds": {"type": "number", "minimum": 0},
        },
        "additionalProperties": False,
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        total = (
            float(ctx.inputs.get("minutes", 0)) * 60
            + float(ctx.inputs.get("seconds", 0))
            + float(ctx.inputs.get("milliseconds", 0)) / 1000
        )
        if total > MAX_WAIT_SECONDS:
            raise ValueError(f"debug:wait waits at most {MAX_WAIT_SECONDS} s; asked for {total} s")
        ctx.log.info("Waiting %.1f s.", total)
        deadline = time.monotonic() + total
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.5))
            ctx.heartbeat()
        return {}
