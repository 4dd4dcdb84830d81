"""infra:release-component: a decommissioned service's infrastructure is deleted, each request
through the same delete (with its approval policy) a person would start from its page."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import Q

from infra import services
from infra.models import RequestStatus, ResourceRequest
from infra.validation import RequestInvalid
from portal.providers.base import PermanentProviderError
from runs.authority import COMPONENT, Write
from runs.context import StepContext
from runs.models import Run
from runs.registry import OUTSIDE, StepKind, register_step

_GONE = Q(status__in=[RequestStatus.DELETED, RequestStatus.REJECTED, RequestStatus.CANCELLED])


@register_step
class ReleaseComponentInfrastructure(StepKind):
    name = "infra:release-component"
    writes = OUTSIDE
    internal = True
    title = "Delete the infrastructure of a decommissioned service"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"component": {"type": "string", "minLength": 1}},
        "required": ["component"],
        "additionalProperties": False,
    }

    @classmethod
    def write_targets(cls, inputs: dict[str, Any], run: Run) -> list[Write]:
        return [Write(COMPONENT, name=inputs["component"])]

    def run(self, ctx: StepContext) -> dict[str, Any]:
        actor = ctx.run.requested_by
        if actor is None:
            raise PermanentProviderError("a decommission needs the person who asked for it")
        requests = ResourceRequest.objects.filter(component_ref=ctx.inputs["component"]).exclude(
            _GONE
        )
        started, blocked = [], []
        for req in requests.select_related("resource_class"):
            if (
                req.status == RequestStatus.DELETING
                or req.approvals.filter(status="pending", action="delete").exists()
            ):
                ctx.log.info("%s is already being deleted.", req.name)
                continue
            try:
                services.delete_request(request=req, actor=actor, confirm=req.name)
            except (RequestInvalid, services.ActionDenied) as exc:
                why = (
                    "; ".join(p.message for p in exc.problems)
                    if isinstance(exc, RequestInvalid)
                    else str(exc)
                )
                blocked.append(f"{req.name} ({req.environment}): {why}")
                continue
            started.append(req.name)
            ctx.log.info("Deleting %s (%s) in a run of its own.", req.name, req.environment)
        if blocked:
            raise PermanentProviderError(
                "could not delete " + "; ".join(blocked) + ". Fix that on the request's page, "
                "then retry this run"
            )
        if not started:
            ctx.log.info("No infrastructure left to release.")
        return {"deleting": started}
