"""A test-only step kind that walks the golden path through the configured providers, the way
the scaffolder's real actions will (they are built elsewhere)."""

from __future__ import annotations

from typing import Any, ClassVar

from portal.providers import cluster, deployer, git_host
from portal.providers.base import ApplicationSpec, NamespaceSpec
from runs.authority import GITOPS, Write
from runs.context import StepContext
from runs.models import Run
from runs.registry import OUTSIDE, StepKind, register_step


@register_step
class ProvisionService(StepKind):
    name = "test:provision-service"
    writes = OUTSIDE
    internal = True  # Paved's own flow in the provider tests, not a template's step

    @classmethod
    def write_targets(cls, inputs: dict[str, Any], run: Run) -> list[Write]:
        return [Write(GITOPS, name="namespace and application")]

    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"owner": {"type": "string"}, "service": {"type": "string"}},
        "required": ["owner", "service"],
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        owner, service = ctx.inputs["owner"], ctx.inputs["service"]
        host = git_host()
        repo, created = host.ensure_repository(owner, service, description=f"{service} service")
        commit = host.commit_files(
            repo,
            {
                "README.md": f"# {service}\n".encode(),
                "deploy/dev/kustomization.yaml": b"resources: []\n",
            },
            message=f"Scaffold {service}",
        )
        ctx.log.info("Repository %s (created=%s), commit %s", repo.full_name, created, commit.sha)
        namespace = f"{service}-dev"
        cluster().ensure_namespace(
            NamespaceSpec(name=namespace, owner_group="team-orders", service=service)
        )
        deployer().ensure_application(
            ApplicationSpec(
                name=namespace,
                repo_url=repo.clone_url,
                path="deploy/dev",
                destination_namespace=namespace,
            )
        )
        return {"repo": repo.full_name, "commit": commit.sha, "clone_url": repo.clone_url}
