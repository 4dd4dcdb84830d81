"""`infra:request`: a scaffolder template step that asks for infrastructure.

Templates use it like any action:

    - id: db
      action: infra:request
      input: {resourceClass: postgresql, name: orders-db, environment: dev,
              component: orders-service,
              parameters: {storageGB: 20, tier: standard, region: eu-west-1}}
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.urls import reverse

from infra.services import ActionDenied, request_from_scaffolder
from infra.validation import RequestInvalid
from portal.providers.base import PermanentProviderError
from runs.authority import COMPONENT, Write
from runs.context import StepContext
from runs.models import Run
from runs.registry import OUTSIDE, StepKind, register_step


@register_step
class InfraRequest(StepKind):
    name = "infra:request"
    writes = OUTSIDE
    title = "Request infrastructure (database, cache, queue, bucket)"
    description = "Creates a self-service infrastructure request owned by the run's requester."
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "resourceClass": {"type": "string", "minLength": 1},
            "name": {"type": "string", "minLength": 1},
            "namespace": {"type": "string", "minLength": 1},
            "environment": {"type": "string", "minLength": 1},
            "provider": {"type": "string"},
            "component": {"type": "string", "minLength": 1},
            "parameters": {"type": "object"},
        },
        # `namespace` may be left out: it follows from the component (any other is refused).
        "required": ["resourceClass", "name", "environment", "component"],
    }

    @classmethod
    def write_targets(cls, inputs: dict[str, Any], run: Run) -> list[Write]:
        return [Write(COMPONENT, name=str(inputs["component"]))]

    def run(self, ctx: StepContext) -> dict[str, Any]:
        try:
            req = request_from_scaffolder(run=ctx.run, inputs=dict(ctx.inputs))
        except RequestInvalid as exc:
            for problem in exc.problems:
                ctx.log.error("%s", problem)
            raise PermanentProviderError("; ".join(str(p) for p in exc.problems)) from exc
        except ActionDenied as exc:
            raise PermanentProviderError(str(exc)) from exc
        ctx.log.info("Infrastructure request #%d: %s.", req.pk, req.get_status_display().lower())
        return {
            "requestId": req.pk,
            "status": req.status,
            "secretName": req.connection_secret_name,
            "url": reverse("infra:request-detail", args=[req.pk]),
        }
