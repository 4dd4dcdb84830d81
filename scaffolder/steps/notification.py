"""notification:send (used by Backstage's starter template): recorded in the run log.

The inputs are Backstage's: its schema lists them without closing the object, so keys it does not
know are accepted (and ignored) there, and here too."""

from __future__ import annotations

from typing import Any, ClassVar

from portal.providers.base import PermanentProviderError
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
            "optional": {"type": "boolean"},
        },
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        if ctx.inputs["recipients"] == "entity" and not ctx.inputs.get("entityRefs"):
            if ctx.inputs.get("optional") is True:
                ctx.log.info("No notification sent: recipients is entity but no entityRefs.")
                return {}
            raise PermanentProviderError(
                "notification:send: recipients is 'entity', so entityRefs must list who to notify"
            )
        who = ", ".join(ctx.inputs.get("entityRefs") or []) or ctx.inputs["recipients"]
        ctx.log.info(
            "Notification to %s: %s. %s", who, ctx.inputs["title"], ctx.inputs.get("info", "")
        )
        return {}
