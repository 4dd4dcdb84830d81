"""kubernetes:namespace: the team's namespace with quota and a RoleBinding (via the cluster
provider, which applies them directly or commits them to the GitOps repository)."""

from __future__ import annotations

from typing import Any, ClassVar

from portal.annotations import RUN_LABEL
from portal.providers import cluster
from portal.providers.base import NamespaceSpec
from runs.authority import NAMESPACE, Write
from runs.context import StepContext
from runs.models import Run
from runs.registry import OUTSIDE, StepKind, register_step

DEFAULT_QUOTA = {
    "requests.cpu": "2",
    "requests.memory": "4Gi",
    "limits.cpu": "4",
    "limits.memory": "8Gi",
}


def group_name(owner: str) -> str:
    """`group:default/team-orders` -> `team-orders`."""
    return owner.split(":", 1)[-1].split("/", 1)[-1]


@register_step
class KubernetesNamespace(StepKind):
    name = "kubernetes:namespace"
    title = "Create the service's namespace"
    writes = OUTSIDE
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["name", "owner"],
        "properties": {
            "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"},
            "owner": {"type": "string", "minLength": 1},
            "service": {"type": "string"},
            "environment": {"type": "string", "pattern": "^[a-z0-9-]{1,30}$"},
            "quota": {"type": "object", "additionalProperties": {"type": "string"}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "additionalProperties": False,
    }

    @classmethod
    def write_targets(cls, inputs: dict[str, Any], run: Run) -> list[Write]:
        environment = inputs.get("environment") or "dev"
        return [
            Write(NAMESPACE, name=inputs["name"], owner=inputs["owner"], environment=environment)
        ]

    @classmethod
    def dry_run_outputs(cls, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"namespace": inputs["name"], "environment": inputs.get("environment") or "dev"}

    def run(self, ctx: StepContext) -> dict[str, Any]:
        inputs = ctx.inputs
        spec = NamespaceSpec(
            name=inputs["name"],
            owner_group=group_name(inputs["owner"]),
            service=inputs.get("service") or inputs["name"],
            environment=inputs.get("environment") or "dev",
            quota=inputs.get("quota") or DEFAULT_QUOTA,
            labels={RUN_LABEL: str(ctx.run.pk), **(inputs.get("labels") or {})},
        )
        provider = cluster()
        changed = provider.ensure_namespace(spec)
        ctx.log.info(
            "Namespace %s (%s) for %s %s on %s.",
            spec.name,
            spec.environment,
            spec.owner_group,
            "created" if changed else "already in place",
            provider.name,
        )
        return {"namespace": spec.name, "environment": spec.environment, "changed": changed}
