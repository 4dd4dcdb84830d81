"""publish:git, publish:github and publish:github:pull-request: the workspace becomes a repository.

All three use whichever git host is configured (`portal.providers.git_host()`), and push the
whole workspace as ONE commit. Repeating a step is harmless: ensure_repository is idempotent and
commit_files makes no commit when the tree is already identical.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, ClassVar

from portal.providers import git_host_named
from portal.providers.base import (
    CommitRef,
    GitHost,
    NameTaken,
    PermanentProviderError,
    RepoRef,
)
from runs.authority import (
    PULL_REQUEST,
    REPOSITORY,
    Write,
    forget_attempt,
    note_attempt,
    own_record,
    record_for,
    repository_key,
    reserve,
)
from runs.context import StepContext
from runs.models import Run
from runs.registry import OUTSIDE, StepKind, register_step
from runs.workspace import UnsafePath, safe_join, workspace_files
from scaffolder.expressions import parse_repo_url
from scaffolder.upgrades.provenance import stamp_workspace

PUBLISH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["repoUrl"],
    "properties": {
        "repoUrl": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "defaultBranch": {"type": "string"},
        "repoVisibility": {"enum": ["private", "public", "internal"]},
        "gitCommitMessage": {"type": "string"},
        "gitAuthorName": {"type": "string"},
        "gitAuthorEmail": {"type": "string"},
        "sourcePath": {"type": "string"},
        "topics": {"type": "array", "items": {"type": "string"}},
        "access": {"type": "string"},
    },
    # publish:github has ~40 options (branch protection, collaborators...); we accept them so
    # existing templates load, and apply the ones the git host supports.
    "additionalProperties": True,
}


def repo_target(repo_url: str) -> tuple[str, str]:
    try:
        parsed = parse_repo_url(repo_url)
    except ValueError as exc:
        raise PermanentProviderError(f"repoUrl: {exc}") from None
    owner = parsed.get("owner") or parsed.get("organization") or parsed.get("workspace") or ""
    return owner, parsed["repo"]


def access_team(access: str | None) -> str | None:
    """Backstage's `access` ("org/team-name") or a catalog group ref ("group:default/team")
    -> the team slug that gets write access where the host has teams."""
    if not access:
        return None
    value = access.strip()
    if ":" in value:  # an entity ref: group:namespace/name
        value = value.split(":", 1)[1]
    team = value.rsplit("/", 1)[-1].strip()
    return team or None


def contents_url(repo: RepoRef, branch: str) -> str:
    base = (repo.web_url or repo.clone_url).rstrip("/")
    return f"{base}/blob/{branch}"


def source_files_for(ctx: StepContext, source_path: str | None) -> dict[str, bytes]:
    try:
        root = safe_join(Path(ctx.workspace), source_path or ".", what="sourcePath")
    except UnsafePath as exc:
        raise PermanentProviderError(str(exc)) from None
    files = workspace_files(root)
    if not files:
        raise PermanentProviderError(
            "the workspace is empty: nothing to publish (is there a fetch:template step before this one?)"
        )
    return files


def refuse_other_content(
    host: GitHost, repo: RepoRef, files: dict[str, bytes], branch: str
) -> None:
    """A repository that already exists may be published to only while it is empty or holds
    exactly these files (this step being repeated). Anything else belongs to someone: refuse,
    as Backstage's publish actions do, rather than commit over another team's work."""
    existing = host.list_files(repo, ref=branch)
    if not existing:
        return
    if set(existing) == set(files) and all(
        host.read_file(repo, path, ref=branch) == data for path, data in files.items()
    ):
        return
    raise PermanentProviderError(
        f"repository {repo.full_name} already exists with other content; choose another "
        "repository name (publishing never overwrites an existing repository)"
    )


class _Publish(StepKind):
    input_schema: ClassVar[dict[str, Any]] = PUBLISH_SCHEMA
    writes = OUTSIDE
    git_host_name: ClassVar[str] = ""  # "": the configured git host; else the one it names

    @classmethod
    def write_targets(cls, inputs: dict[str, Any], run: Run) -> list[Write]:
        owner, name = repo_target(inputs["repoUrl"])
        return [Write(REPOSITORY, name=f"{owner}/{name}", host=cls.git_host_name)]

    def host(self) -> GitHost:
        return git_host_named(self.git_host_name)

    def create_options(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Host-specific keyword arguments for ensure_repository."""
        return {}

    def extra_outputs(self, host: GitHost, repo: RepoRef, branch: str) -> dict[str, Any]:
        return {}

    @classmethod
    def dry_run_outputs(cls, inputs: dict[str, Any]) -> dict[str, Any]:
        owner, name = repo_target(inputs["repoUrl"])
        host = parse_repo_url(inputs["repoUrl"])["host"]
        branch = inputs.get("defaultBranch") or "main"
        remote = f"https://{host}/{owner}/{name}"
        return {
            "remoteUrl": remote,
            "cloneUrl": f"{remote}.git",
            "repoContentsUrl": f"{remote}/blob/{branch}",
            "commitHash": "0" * 40,
        }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        inputs = ctx.inputs
        owner, name = repo_target(inputs["repoUrl"])
        branch = inputs.get("defaultBranch") or "main"
        # source_files_for reports a bad sourcePath
        with contextlib.suppress(UnsafePath):
            stamp_workspace(
                safe_join(Path(ctx.workspace), inputs.get("sourcePath") or "."), ctx.run
            )
        files = source_files_for(ctx, inputs.get("sourcePath"))
        host = self.host()
        warnings: list[str] = []
        try:
            repo, created = host.ensure_repository(
                owner,
                name,
                description=inputs.get("description", ""),
                private=inputs.get("repoVisibility", "private") != "public",
                default_branch=branch,
                topics=tuple(inputs.get("topics") or ()),
                team=access_team(inputs.get("access")),
                resume=self._resuming(ctx, host, owner, name),
                warn=warnings.append,
                **self.create_options(inputs),
            )
        except NameTaken:
            key = repository_key(self.git_host_name, f"{owner}/{name}")
            record = own_record(REPOSITORY, key, ctx.run, ctx.step.key)
            if record is not None:
                forget_attempt(record)
            raise
        if not created:
            refuse_other_content(host, repo, files, branch)
        ctx.log.info(
            "%s repository %s on %s.", "Created" if created else "Found", repo.full_name, host.name
        )
        for warning in warnings:
            ctx.log.warning("Warning: %s", warning)
        ctx.heartbeat()
        commit = host.commit_files(
            repo, files, message=inputs.get("gitCommitMessage") or "Initial commit", branch=branch
        )
        if commit.changed:
            ctx.log.info("Pushed %d file(s) as commit %s.", len(files), commit.sha[:12])
        else:
            ctx.log.info(
                "The repository already has these %d file(s); nothing to push.", len(files)
            )
        outputs: dict[str, Any] = {
            "remoteUrl": repo.web_url or repo.clone_url,
            "cloneUrl": repo.clone_url,
            "repoContentsUrl": contents_url(repo, branch),
            "commitHash": commit.sha,
            "repository": {
                "host": repo.host,
                "owner": repo.owner,
                "name": repo.name,
                "branch": branch,
            },
            **self.extra_outputs(host, repo, branch),
        }
        if warnings:  # shown on the run page and read by the provisioning-warnings check
            outputs["warnings"] = warnings
        return outputs

    def _resuming(self, ctx: StepContext, host: GitHost, owner: str, name: str) -> bool:
        """Whether a repository found without Paved's marker is this step's own unfinished work.
        The engine reserved the name for this run and step before it ran; the first attempt
        notes, before it asks the host, that it is creating the repository. A repository that
        already existed then is never noted, so it is never adopted."""
        key = repository_key(self.git_host_name, f"{owner}/{name}")
        record = own_record(REPOSITORY, key, ctx.run, ctx.step.key)
        if record is None:
            return False
        if record.attempted_at is not None:
            return True
        if host.get_repository(owner, name) is None:
            note_attempt(record)
        return False


@register_step
class PublishGit(_Publish):
    name = "publish:git"
    title = "Publish the workspace to the configured git host"


@register_step
class PublishGithub(_Publish):
    name = "publish:github"
    title = "Publish the workspace to a new repository"


@register_step
class PublishPullRequest(StepKind):
    """Backstage's `publish:github:pull-request`: the workspace's files go onto `branchName`
    (created from the target branch), and a pull request proposes it. Repeating the step reuses
    the branch and the open pull request. Outputs as Backstage's: `remoteUrl` (the pull
    request's page), `pullRequestNumber`, `targetBranchName`; plus `pullRequestUrl` and
    `commitHash`."""

    name = "publish:github:pull-request"
    title = "Propose the workspace as a change to an existing repository"
    writes = OUTSIDE
    git_host_name: ClassVar[str] = ""  # "": the configured git host; else the one it names
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["repoUrl", "branchName", "title", "description"],
        "properties": {
            "repoUrl": {"type": "string", "minLength": 1},
            "branchName": {"type": "string", "minLength": 1},
            "title": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
            "targetBranchName": {"type": "string"},
            "sourcePath": {"type": "string"},
            "targetPath": {"type": "string"},
            "commitMessage": {"type": "string"},
            "draft": {"type": "boolean"},
        },
        "additionalProperties": True,
    }

    @classmethod
    def dry_run_outputs(cls, inputs: dict[str, Any]) -> dict[str, Any]:
        owner, name = repo_target(inputs["repoUrl"])
        host = parse_repo_url(inputs["repoUrl"])["host"]
        url = f"https://{host}/{owner}/{name}/pull/0"
        return {
            "remoteUrl": url,
            "pullRequestUrl": url,
            "targetBranchName": inputs.get("targetBranchName") or "main",
            "pullRequestNumber": 0,
        }

    @classmethod
    def write_targets(cls, inputs: dict[str, Any], run: Run) -> list[Write]:
        owner, name = repo_target(inputs["repoUrl"])
        return [Write(PULL_REQUEST, name=f"{owner}/{name}", host=cls.git_host_name)]

    def host(self) -> GitHost:
        return git_host_named(self.git_host_name)

    def run(self, ctx: StepContext) -> dict[str, Any]:
        inputs = ctx.inputs
        host = self.host()
        repo, branch, target, commit = self.push_branch(ctx, host)
        ctx.heartbeat()
        pull, created = host.open_pull_request(
            repo,
            head=branch,
            base=target,
            title=inputs["title"],
            body=inputs.get("description") or "",
            draft=bool(inputs.get("draft", False)),
        )
        ctx.log.info(
            "%s pull request #%d: %s",
            "Opened" if created else "Reusing the open",
            pull.number,
            pull.url,
        )
        return {
            "remoteUrl": pull.url,
            "pullRequestUrl": pull.url,
            "pullRequestNumber": pull.number,
            "targetBranchName": pull.base,
            "commitHash": commit.sha,
        }

    def push_branch(self, ctx: StepContext, host: GitHost) -> tuple[RepoRef, str, str, CommitRef]:
        """The workspace's files as one commit on a new branch from the target branch.
        Returns (repository, branch, target branch, commit)."""
        inputs = ctx.inputs
        owner, name = repo_target(inputs["repoUrl"])
        repo = host.get_repository(owner, name)
        if repo is None:
            raise PermanentProviderError(f"repository {owner}/{name} does not exist on {host.name}")
        files = self.branch_files(ctx)
        prefix = (inputs.get("targetPath") or "").strip("/")
        if prefix:
            files = {f"{prefix}/{path}": data for path, data in files.items()}
        target = inputs.get("targetBranchName") or repo.default_branch
        branch = inputs["branchName"]
        if branch in (target, repo.default_branch):
            raise PermanentProviderError(
                f"branchName {branch!r} is the {'target' if branch == target else 'default'} "
                "branch; a pull request needs a new branch of its own"
            )
        self.check_files(ctx, host, repo, files, target)
        # The branch starts at the target's tip, so the pull request shows only our change and
        # can be merged; files the workspace does not mention stay as they are.
        if self._start_new_branch(ctx, host, repo, branch, target):
            ctx.log.info("Created branch %s from %s.", branch, target)
        commit = self.commit(ctx, host, repo, files, branch)
        ctx.log.info(
            "Pushed %d file(s) to branch %s of %s (%s).",
            len(files),
            branch,
            repo.full_name,
            f"commit {commit.sha[:12]}" if commit.changed else "unchanged",
        )
        return repo, branch, target, commit

    def branch_files(self, ctx: StepContext) -> dict[str, bytes]:
        return source_files_for(ctx, ctx.inputs.get("sourcePath"))

    def check_files(
        self, ctx: StepContext, host: GitHost, repo: RepoRef, files: dict[str, bytes], target: str
    ) -> None:
        """Refuse before anything is written when the files cannot go in as asked."""

    def commit(
        self, ctx: StepContext, host: GitHost, repo: RepoRef, files: dict[str, bytes], branch: str
    ) -> CommitRef:
        message = ctx.inputs.get("commitMessage") or ctx.inputs["title"]
        return host.commit_files(repo, files, message=message, branch=branch)

    def _start_new_branch(
        self, ctx: StepContext, host: GitHost, repo: RepoRef, branch: str, target: str
    ) -> bool:
        """A pull request always starts from a branch this step creates: an existing branch
        (someone's work, a release branch) is never written — except by a retry of this same
        step, which finds its own record. Returns whether the branch was created now."""
        key = f"{repository_key(self.git_host_name, repo.full_name)}#{branch}".lower()
        claim = record_for("branch", key)
        if claim is not None and (claim.run_id, claim.step_key) != (ctx.run.pk, ctx.step.key):
            raise PermanentProviderError(
                f"branch {branch} of {repo.full_name} belongs to another run; choose a new "
                "branchName"
            )
        if claim is None:
            claim = reserve(kind="branch", key=key, owner_ref=ctx.run.owner_ref, run=ctx.run,
                            step_key=ctx.step.key)  # fmt: skip
            if claim.run_id != ctx.run.pk:
                raise PermanentProviderError(
                    f"branch {branch} of {repo.full_name} belongs to another run; choose a new "
                    "branchName"
                )
            if not host.ensure_branch(repo, branch, from_ref=target):
                claim.delete()
                raise PermanentProviderError(
                    f"branch {branch} already exists in {repo.full_name}; a pull request "
                    "always starts from a new branch (choose another branchName)"
                )
            return True
        return host.ensure_branch(repo, branch, from_ref=target)
