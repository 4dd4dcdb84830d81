"""notification:send (used by Backstage's starter template): recorded in the run log."""

from __future__ import annotations

from typing import Any, ClassVar

from runs.context import StepContext
from runs.registry import NOTHING, StepKind, register_step


@register_step
class NotificationSend(StepKind):
    name = "notification:send"
    writes = NOTHING
    title = "Send a notification"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["recipients", "title"],
        "properties": {
            "recipients": {"enum": ["broadcast", "entity"]},
            "entityRefs": {"type": "array", "items": {"type": "string"}},
            "title": {"type": "string"},
            "info": {"type": "string"},
            "link": {"type": "string"},
            "severity": {"enum": ["low", "normal", "high", "critical"]},
            "scope": {"type": "string"},
            "topic": {"type": "string"},
            "optional": {"type": "boolean"},
        },
        "additionalProperties": False,
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        who = ", ".join(ctx.inputs.get("entityRefs") or []) or ctx.inputs["recipients"]
        ctx.log.info(
            "Notification to %s: %s. %s", who, ctx.inputs["title"], ctx.inputs.get("info", "")
        )
        return {}
