"""infra:wire-connection: a pull request on the service's repository that makes it read the
request's connection secret, so nobody copies YAML from the request page.

Acts with the authority of the request's run (its requester): a pull request on a repository
the team owns, from a branch this step creates, never a commit to an existing branch.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings

from infra.crossplane import render_connection_external_secret, to_yaml
from infra.models import ResourceRequest
from infra.wiring import CannotWire, plan_wiring
from portal.annotations import repository_slug as repository_of
from portal.providers import git_host
from portal.providers.base import GitHost, PermanentProviderError, RepoRef
from runs.authority import PULL_REQUEST, Write, note_attempt, record_for, reserve
from runs.context import StepContext
from runs.models import Run
from runs.registry import OUTSIDE, StepKind, register_step

BRANCH_RECORD = "branch"


def wiring_branch(req: ResourceRequest) -> str:
    return f"paved/connect-{req.name}-{req.environment}-{req.pk}"


def _read_deploy_files(host: GitHost, repo: RepoRef) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path in host.list_files(repo):
        if path.startswith("deploy/") and path.endswith((".yaml", ".yml")):
            data = host.read_file(repo, path)
            if data is not None:
                files[path] = data
    return files


@register_step
class WireConnection(StepKind):
    name = "infra:wire-connection"
    writes = OUTSIDE
    internal = True
    title = "Open a pull request that wires the connection secret into the service"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "request_id": {"type": "integer"},
            "repository": {"type": "string", "pattern": "^[^/]+/[^/]+$"},
        },
        "required": ["request_id", "repository"],
    }

    @classmethod
    def write_targets(cls, inputs: dict[str, Any], run: Run) -> list[Write]:
        return [Write(PULL_REQUEST, name=inputs["repository"])]

    def run(self, ctx: StepContext) -> dict[str, Any]:
        req = (
            ResourceRequest.objects.select_related("component")
            .filter(pk=ctx.inputs["request_id"])
            .first()
        )
        if req is None:
            raise PermanentProviderError(f"request #{ctx.inputs['request_id']} no longer exists")
        full_name = ctx.inputs["repository"]
        named = repository_of(req.component.metadata if req.component else None)
        if named.lower() != full_name.lower():
            raise PermanentProviderError(
                f"this step targets {full_name}, but {req.component_ref or 'the component'} "
                f"names {named or 'no repository'}; nothing was written"
            )
        host = git_host()
        owner, _, name = full_name.partition("/")
        repo = host.get_repository(owner, name)
        if repo is None:
            return self._not_wired(ctx, f"repository {full_name} does not exist on {host.name}")
        external = render_connection_external_secret(
            name=req.name,
            namespace=req.namespace,
            environment=req.environment,
            store=settings.PAVED_CLUSTER_SECRET_STORE,
        )
        try:
            wiring = plan_wiring(
                _read_deploy_files(host, repo),
                external_secret=external,
                yaml_text=to_yaml(external),
            )
        except CannotWire as exc:
            return self._not_wired(ctx, f"{full_name} has {exc}")
        if not wiring.files:
            ctx.log.info("%s already reads the Secret %s; no pull request needed.", full_name,
                         external["spec"]["target"]["name"])  # fmt: skip
            return {"repository": full_name, "pullRequestUrl": "", "alreadyWired": True}
        branch = wiring_branch(req)
        self._start_branch(ctx, host, repo, branch)
        title = f"Read the {req.resource_class.title} {req.name} ({req.environment}) connection"
        commit = host.commit_files(repo, wiring.files, message=title, branch=branch)
        ctx.heartbeat()
        body = (
            f"Paved opened this for infrastructure request #{req.pk} ({req.name} in "
            f"{req.environment}), requested by "
            f"{req.requested_by.get_username() if req.requested_by else 'the platform'}.\n\n"
            "Once merged, the service reads the connection details as environment variables:\n\n"
            + "\n".join(f"- {note}" for note in wiring.notes)
        )
        pull, created = host.open_pull_request(
            repo, head=branch, base=repo.default_branch, title=title, body=body
        )
        ctx.log.info("%s pull request #%d on %s: %s", "Opened" if created else "Reusing the open",
                     pull.number, full_name, pull.url)  # fmt: skip
        return {
            "repository": full_name,
            "branch": branch,
            "pullRequestUrl": pull.url,
            "pullRequestNumber": pull.number,
            "commitHash": commit.sha,
        }

    @staticmethod
    def _not_wired(ctx: StepContext, reason: str) -> dict[str, Any]:
        # The claim is committed either way; the request page shows the YAML instead.
        ctx.log.warning("No pull request: %s. The request page shows what to add by hand.", reason)
        return {"repository": ctx.inputs["repository"], "pullRequestUrl": "", "reason": reason}

    @staticmethod
    def _start_branch(ctx: StepContext, host: GitHost, repo: RepoRef, branch: str) -> None:
        """A branch this step creates, never an existing one (a retry finds its own record)."""
        key = f"{repo.full_name}#{branch}".lower()
        record = record_for(BRANCH_RECORD, key)
        if record is None:
            record = reserve(kind=BRANCH_RECORD, key=key, owner_ref=ctx.run.owner_ref,
                             run=ctx.run, step_key=ctx.step.key)  # fmt: skip
        if (record.run_id, record.step_key) != (ctx.run.pk, ctx.step.key):
            raise PermanentProviderError(
                f"branch {branch} of {repo.full_name} belongs to another run; nothing was written"
            )
        fresh = record.attempted_at is None
        note_attempt(record)
        if host.ensure_branch(repo, branch, from_ref=repo.default_branch):
            ctx.log.info("Created branch %s from %s.", branch, repo.default_branch)
        elif fresh:
            record.delete()
            raise PermanentProviderError(
                f"branch {branch} already exists in {repo.full_name} and Paved did not create "
                "it; nothing was written"
            )
