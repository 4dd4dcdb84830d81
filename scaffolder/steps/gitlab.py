"""publish:gitlab and publish:gitlab:merge-request: Backstage's GitLab actions on the configured
GitLab integration (PAVED_GITLAB_URL / PAVED_GITLAB_TOKEN), whatever the default git host is.

They are publish:github and publish:github:pull-request with GitLab's vocabulary: the same
authorization (a project only under an owner of the requester's team; a merge request only on a
project the team owns, from a branch the step creates), the same one-commit push, the same
idempotent repeat. The repoUrl must name the configured GitLab host: the token goes nowhere else.
"""

from __future__ import annotations

from typing import Any, ClassVar

from portal.providers.base import CommitRef, GitHost, PermanentProviderError, RepoRef
from portal.providers.gitlab.client import GitLabSettings
from portal.providers.gitlab.provider import VISIBILITIES
from runs.context import StepContext
from runs.registry import register_step
from scaffolder.expressions import parse_repo_url
from scaffolder.steps.publish import (
    PUBLISH_SCHEMA,
    PublishPullRequest,
    _Publish,
    repo_target,
)

COMMIT_ACTIONS = ("auto", "create", "update", "delete", "skip")


def check_gitlab_host(repo_url: str) -> None:
    try:
        host = parse_repo_url(repo_url)["host"]
    except ValueError as exc:
        raise PermanentProviderError(f"repoUrl: {exc}") from None
    GitLabSettings.from_settings().check_host(host)


def project_id(host: GitHost, repo: RepoRef) -> int:
    getter = getattr(host, "project_id", None)
    return int(getter(repo)) if getter is not None else 0


@register_step
class PublishGitlab(_Publish):
    """Backstage's `publish:gitlab`: a new project in the group `owner`, private unless
    repoVisibility says otherwise, holding the workspace as one commit on defaultBranch.
    Outputs as Backstage's: remoteUrl, repoContentsUrl, projectId (plus commitHash)."""

    name = "publish:gitlab"
    title = "Publish the workspace to a new GitLab project"
    git_host_name = "gitlab"
    input_schema: ClassVar[dict[str, Any]] = {
        **PUBLISH_SCHEMA,
        "properties": {
            **PUBLISH_SCHEMA["properties"],
            "settings": {"type": "object"},
            "skipExisting": {"type": "boolean"},
        },
    }

    @classmethod
    def dry_run_outputs(cls, inputs: dict[str, Any]) -> dict[str, Any]:
        owner, name = repo_target(inputs["repoUrl"])
        host = parse_repo_url(inputs["repoUrl"])["host"]
        branch = inputs.get("defaultBranch") or "main"
        remote = f"https://{host}/{owner}/{name}"
        return {
            "remoteUrl": remote,
            "cloneUrl": f"{remote}.git",
            "repoContentsUrl": f"{remote}/-/blob/{branch}",
            "projectId": 0,
            "commitHash": "0" * 40,
        }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        check_gitlab_host(ctx.inputs["repoUrl"])
        return super().run(ctx)

    def create_options(self, inputs: dict[str, Any]) -> dict[str, Any]:
        settings = inputs.get("settings") or {}
        visibility = inputs.get("repoVisibility") or settings.get("visibility") or "private"
        if visibility not in VISIBILITIES:
            raise PermanentProviderError(
                f"repoVisibility {visibility!r} is not one of {', '.join(VISIBILITIES)}"
            )
        return {"visibility": visibility}

    def extra_outputs(self, host: GitHost, repo: RepoRef, branch: str) -> dict[str, Any]:
        return {
            "remoteUrl": repo.web_url,
            "repoContentsUrl": f"{repo.web_url}/-/blob/{branch}",
            "projectId": project_id(host, repo),
        }


@register_step
class PublishGitlabMergeRequest(PublishPullRequest):
    """Backstage's `publish:gitlab:merge-request`: the workspace's files (under targetPath) go
    onto a new branch `branchName` from targetBranchName as one commit, and a merge request
    proposes it. `commitAction` says what the files do: create (none may exist yet), update
    (all must exist), delete (remove these paths), skip (leave existing ones alone) or auto
    (create or update, the default). Outputs: projectid (the project's path, as Backstage's),
    projectPath, targetBranchName, mergeRequestUrl (plus commitHash)."""

    name = "publish:gitlab:merge-request"
    title = "Propose the workspace as a merge request on a GitLab project"
    git_host_name = "gitlab"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["repoUrl", "branchName", "title", "description"],
        "properties": {
            **PublishPullRequest.input_schema["properties"],
            "commitAction": {"enum": list(COMMIT_ACTIONS)},
            "removeSourceBranch": {"type": "boolean"},
            "assignee": {"type": "string"},
        },
        "additionalProperties": True,
    }

    @classmethod
    def dry_run_outputs(cls, inputs: dict[str, Any]) -> dict[str, Any]:
        owner, name = repo_target(inputs["repoUrl"])
        host = parse_repo_url(inputs["repoUrl"])["host"]
        return {
            "projectid": f"{owner}/{name}",
            "projectPath": f"{owner}/{name}",
            "targetBranchName": inputs.get("targetBranchName") or "main",
            "mergeRequestUrl": f"https://{host}/{owner}/{name}/-/merge_requests/0",
        }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        inputs = ctx.inputs
        check_gitlab_host(inputs["repoUrl"])
        host = self.host()
        repo, branch, target, commit = self.push_branch(ctx, host)
        ctx.heartbeat()
        merge, created = host.open_pull_request(
            repo,
            head=branch,
            base=target,
            title=inputs["title"],
            body=inputs.get("description") or "",
            draft=bool(inputs.get("draft", False)),
        )
        ctx.log.info(
            "%s merge request !%d: %s",
            "Opened" if created else "Reusing the open",
            merge.number,
            merge.url,
        )
        return {
            "projectid": repo.full_name,
            "projectPath": repo.full_name,
            "targetBranchName": merge.base,
            "mergeRequestUrl": merge.url,
            "commitHash": commit.sha,
        }

    def check_files(
        self, ctx: StepContext, host: GitHost, repo: RepoRef, files: dict[str, bytes], target: str
    ) -> None:
        action = ctx.inputs.get("commitAction") or "auto"
        if action in ("auto", "skip"):
            return
        existing = set(host.list_files(repo, ref=target))
        if action == "create":
            clash = sorted(set(files) & existing)
            if clash:
                raise PermanentProviderError(
                    f"commitAction create: {', '.join(clash[:5])} already exist(s) on {target} "
                    f"of {repo.full_name}; use commitAction update or auto"
                )
        else:  # update and delete act on files that are there
            missing = sorted(set(files) - existing)
            if missing:
                raise PermanentProviderError(
                    f"commitAction {action}: {', '.join(missing[:5])} do(es) not exist on "
                    f"{target} of {repo.full_name}"
                )

    def commit(
        self, ctx: StepContext, host: GitHost, repo: RepoRef, files: dict[str, bytes], branch: str
    ) -> CommitRef:
        message = ctx.inputs.get("commitMessage") or ctx.inputs["title"]
        action = ctx.inputs.get("commitAction") or "auto"
        if action == "delete":
            return host.commit_files(repo, {}, message=message, branch=branch, delete=list(files))
        if action == "skip":
            existing = set(host.list_files(repo, ref=branch))
            files = {path: data for path, data in files.items() if path not in existing}
        return host.commit_files(repo, files, message=message, branch=branch)
