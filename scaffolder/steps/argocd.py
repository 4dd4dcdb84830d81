"""argocd:create-resources (Roadie's action): an Argo CD Application for the new repository."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings

from portal.providers import deployer, git_host
from portal.providers.base import ApplicationSpec, PermanentProviderError
from runs.authority import APPLICATION, Write
from runs.context import StepContext
from runs.models import Run
from runs.registry import OUTSIDE, StepKind, register_step
from scaffolder.steps.publish import repo_target


def clone_url_for(repo_url: str) -> str:
    """Accept a clone URL as is; resolve `host?owner=o&repo=r` through the git host."""
    if "?" not in repo_url:
        return repo_url
    owner, name = repo_target(repo_url)
    repo = git_host().get_repository(owner, name)
    if repo is None:
        raise PermanentProviderError(f"repository {owner}/{name} does not exist; publish it first")
    return repo.clone_url or repo.web_url


def app_url(name: str) -> str:
    """The application's page in the Argo CD UI, when one is configured (PAVED_ARGOCD_URL)."""
    base = str(getattr(settings, "PAVED_ARGOCD_URL", "") or "").rstrip("/")
    return f"{base}/applications/{name}" if base else ""


@register_step
class ArgocdCreateResources(StepKind):
    name = "argocd:create-resources"
    title = "Create the Argo CD application"
    writes = OUTSIDE
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["appName", "namespace", "repoUrl", "path"],
        "properties": {
            "appName": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"},
            "argoInstance": {"type": "string"},
            "namespace": {"type": "string", "minLength": 1},
            "repoUrl": {"type": "string", "minLength": 1},
            "path": {"type": "string", "minLength": 1},
            "labelValue": {"type": "string"},
            "projectName": {"type": "string"},
            "environment": {"type": "string"},
            "revision": {"type": "string"},
        },
        "additionalProperties": False,
    }

    @classmethod
    def write_targets(cls, inputs: dict[str, Any], run: Run) -> list[Write]:
        return [Write(APPLICATION, name=inputs["appName"], namespace=inputs["namespace"],
                      environment=inputs.get("environment") or "dev")]  # fmt: skip

    @classmethod
    def dry_run_outputs(cls, inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            "appName": inputs["appName"],
            "environment": inputs.get("environment") or "dev",
            "url": app_url(inputs["appName"]),
        }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        inputs = ctx.inputs
        spec = ApplicationSpec(
            name=inputs["appName"],
            repo_url=clone_url_for(inputs["repoUrl"]),
            path=inputs["path"],
            destination_namespace=inputs["namespace"],
            environment=inputs.get("environment") or "dev",
            revision=inputs.get("revision") or "HEAD",
            project=inputs.get("projectName") or "default",
            labels={"backstage-name": inputs.get("labelValue") or inputs["appName"]},
        )
        provider = deployer()
        changed = provider.ensure_application(spec)
        ctx.log.info(
            "Argo CD application %s %s on %s.",
            spec.name,
            "created" if changed else "already in place",
            provider.name,
        )
        return {
            "appName": spec.name,
            "environment": spec.environment,
            "changed": changed,
            "url": app_url(spec.name),
        }
