"""infra:request, the stand-in: the infra app registers the real step kind under the same name
(infra/steps/request.py), which replaces this one. Without infra the action still exists, so
templates load, and a run that reaches it fails with a message saying what is missing."""

from __future__ import annotations

from typing import Any, ClassVar

from portal.providers.base import PermanentProviderError
from scaffolder.engine.context import StepContext
from scaffolder.engine.registry import StepKind, register_step


@register_step
class InfraRequestUnavailable(StepKind):
    name = "infra:request"
    title = "Request infrastructure (needs the infra app)"
    is_fallback = True
    input_schema: ClassVar[dict[str, Any]] = {"type": "object", "additionalProperties": True}

    def run(self, ctx: StepContext) -> dict[str, Any]:
        raise PermanentProviderError(
            "infra:request needs the infra app, which is not installed; remove this step or "
            "ask the platform team to enable self-service infrastructure"
        )
