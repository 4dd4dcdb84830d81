"""infra:request: hands a resource request over to the infra app.

The scaffolder cannot import infra (dependency direction), so infra registers its handler here
at start-up with `register_infra_request_handler`. Without one the step fails and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from portal.providers.base import PermanentProviderError
from scaffolder.engine.context import StepContext
from scaffolder.engine.registry import StepKind, register_step

InfraRequestHandler = Callable[[StepContext, dict[str, Any]], dict[str, Any]]
_HANDLER: list[InfraRequestHandler] = []


def register_infra_request_handler(handler: InfraRequestHandler) -> None:
    """Called by the infra app's ready(): `handler(ctx, inputs) -> outputs`, idempotent."""
    _HANDLER[:] = [handler]


def infra_request_handler() -> InfraRequestHandler | None:
    return _HANDLER[0] if _HANDLER else None


@register_step
class InfraRequest(StepKind):
    name = "infra:request"
    title = "Request infrastructure (database, cache, ...)"
    input_schema: ClassVar[dict[str, Any]] = {"type": "object", "additionalProperties": True}

    def run(self, ctx: StepContext) -> dict[str, Any]:
        handler = infra_request_handler()
        if handler is None:
            raise PermanentProviderError(
                "infra:request needs the infra app, which is not installed or did not register "
                "a handler; remove this step or ask the platform team to enable infra"
            )
        return handler(ctx, dict(ctx.inputs)) or {}
