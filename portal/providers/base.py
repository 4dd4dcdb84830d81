"""Contracts shared by every provider, starting with the error taxonomy the run engine obeys.

| Exception                | Meaning                              | What the engine does             |
|--------------------------|--------------------------------------|----------------------------------|
| TransientProviderError   | timeout, 5xx, 429 (with retry_after) | retries the step with backoff    |
| PermanentProviderError   | bad input, 4xx, authentication       | fails the step with the message  |
| ProviderNotConfigured    | missing credentials or settings      | fails the step; `check` reports  |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class ProviderError(Exception):
    """Base class: something an outside system (or our embedded stand-in) refused or failed."""

    def __init__(self, message: str, *, provider: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider

    def __str__(self) -> str:
        return f"{self.provider}: {self.message}" if self.provider else self.message


class TransientProviderError(ProviderError):
    """Worth retrying: the same call may succeed later."""

    def __init__(
        self, message: str, *, provider: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message, provider=provider)
        self.retry_after = retry_after


class PermanentProviderError(ProviderError):
    """Retrying will not help; the message says what to fix."""


class ProviderNotConfigured(PermanentProviderError):
    """The provider lacks the settings or credentials it needs."""


class NameTaken(PermanentProviderError):
    """The name is already used by something Paved did not create; Paved never touches it."""


# --- Contracts ---------------------------------------------------------------------------------
# Methods take and return these frozen dataclasses, never vendor objects, so PyGithub and
# kubernetes types stay inside their provider folders. Every `ensure_*` is safe to repeat and
# returns whether it changed anything.


@dataclass(frozen=True)
class RepoRef:
    """A repository on a git host."""

    host: str  # provider name: "local" or "github"
    owner: str  # organisation / namespace
    name: str
    default_branch: str = "main"
    web_url: str = ""  # where a person browses it (the portal's page for local repos)
    clone_url: str = ""  # what `git clone` takes

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class CommitRef:
    sha: str
    changed: bool  # False when the tree was already identical and no commit was made


@dataclass(frozen=True)
class PullRequestRef:
    """A proposed change: `head` branch into `base`, on the host's pull-request page `url`."""

    number: int
    url: str
    head: str
    base: str
    title: str = ""
    state: str = "open"  # open / merged / closed


class GitHost(Protocol):
    """Creates repositories and commits whole trees, idempotently."""

    name: str

    def ensure_repository(
        self,
        owner: str,
        name: str,
        *,
        description: str = "",
        private: bool = True,
        default_branch: str = "main",
        topics: Sequence[str] = (),
        team: str | None = None,
        resume: bool = False,
        warn: Callable[[str], None] | None = None,
    ) -> tuple[RepoRef, bool]:
        """Create the repository (or find the one Paved created before). `team` (a team slug on
        the host) gets write access where the host has teams. A name already used by something
        Paved did not create raises PermanentProviderError.

        `resume`: the caller's own record says an earlier attempt of this same step asked the
        host to create the repository, so one without Paved's marker is that attempt's
        unfinished work: finish it (marker, default branch, protection, team) and return it as
        created. Optional parts the host refuses for good (branch protection on a plan without
        it, an unknown team) do not fail the call: they are reported through `warn`."""
        ...

    def get_repository(self, owner: str, name: str) -> RepoRef | None: ...

    def commit_files(
        self,
        repo: RepoRef,
        files: Mapping[str, bytes],
        *,
        message: str,
        branch: str | None = None,
        delete_missing: bool = False,
        delete: Sequence[str] = (),
    ) -> CommitRef:
        """Write `files` (path -> content) as ONE commit; no commit when nothing changed.
        With `delete_missing`, files not in `files` are removed (the tree becomes exactly it);
        paths in `delete` are removed in the same commit (missing ones are ignored)."""
        ...

    def read_file(self, repo: RepoRef, path: str, *, ref: str | None = None) -> bytes | None: ...

    def list_files(self, repo: RepoRef, *, ref: str | None = None) -> list[str]: ...

    def is_private(self, repo: RepoRef) -> bool:
        """Readable only by its team (and admins): the catalog will not read it for others."""
        ...

    def delete_repository(self, repo: RepoRef) -> bool:
        """Remove the repository (undoing a failed run). False when it was already gone."""
        ...

    def archive_repository(self, repo: RepoRef) -> bool:
        """Make the repository read-only (a decommissioned service): its history stays, nobody
        commits to it. False when it already was archived."""
        ...

    def ensure_webhook(self, repo: RepoRef, *, url: str, secret: str) -> bool: ...

    def ensure_branch(self, repo: RepoRef, branch: str, *, from_ref: str) -> bool:
        """Create `branch` at the tip of `from_ref` unless it exists (then leave it alone).
        Returns whether it was created. A missing `from_ref` raises PermanentProviderError."""
        ...

    def open_pull_request(
        self,
        repo: RepoRef,
        *,
        head: str,
        base: str,
        title: str,
        body: str = "",
        draft: bool = False,
    ) -> tuple[PullRequestRef, bool]:
        """Propose merging branch `head` into `base`. An open pull request for the same head
        and base is reused (returned with False), so repeating the call is harmless. No
        commits between the branches raises PermanentProviderError."""
        ...

    def update_pull_request(
        self, repo: RepoRef, number: int, *, title: str, body: str
    ) -> PullRequestRef:
        """Replace the title and description of pull request `number` (open or not); a
        missing one raises PermanentProviderError."""
        ...

    def find_pull_request(self, repo: RepoRef, number: int) -> PullRequestRef | None:
        """Pull request `number` with its state: open, merged, or closed (without merging)."""
        ...

    def check_configuration(self) -> list[str]:
        """Problems that stop this provider from working (empty when fine)."""
        ...


@dataclass(frozen=True)
class ApplicationSpec:
    """An Argo CD Application for one service in one environment."""

    name: str
    repo_url: str
    path: str
    destination_namespace: str
    environment: str = "dev"
    revision: str = "HEAD"
    project: str = "default"
    destination_server: str = "https://kubernetes.default.svc"
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AppStatus:
    sync: str  # Synced / OutOfSync / Unknown
    health: str  # Healthy / Progressing / Degraded / Missing / Unknown
    revision: str = ""
    message: str = ""


class Deployer(Protocol):
    """Creates the Argo CD Application for a service and reads its status back."""

    name: str

    def ensure_application(self, app: ApplicationSpec) -> bool: ...

    def application_status(self, name: str, *, environment: str = "dev") -> AppStatus: ...

    def delete_application(self, name: str, *, environment: str = "dev") -> bool:
        """Remove the application (undoing a failed run). False when it was already gone."""
        ...

    def check_configuration(self) -> list[str]: ...


@dataclass(frozen=True)
class NamespaceSpec:
    """A team's namespace for one service in one environment, with quota and access."""

    name: str
    owner_group: str  # catalog group name, e.g. "team-orders"
    service: str
    environment: str = "dev"
    quota: Mapping[str, str] = field(default_factory=dict)  # e.g. {"requests.cpu": "4"}
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ResourceStatus:
    """What a cluster says about an object: exists, and its status conditions."""

    exists: bool
    conditions: Sequence[Mapping[str, Any]] = ()
    ready: bool = False
    message: str = ""


class Cluster(Protocol):
    """Namespaces and arbitrary manifests (Crossplane claims, Argo Applications) on a cluster,
    or committed to the GitOps repository for Argo CD to apply."""

    name: str

    def ensure_namespace(self, spec: NamespaceSpec) -> bool: ...

    def delete_namespace(self, name: str, *, environment: str = "dev") -> bool: ...

    def apply_manifests(
        self, manifests: Sequence[Mapping[str, Any]], *, environment: str, message: str = ""
    ) -> bool: ...

    def delete_manifest(
        self, api_version: str, kind: str, namespace: str, name: str, *, environment: str
    ) -> bool: ...

    def read_status(
        self, api_version: str, kind: str, namespace: str, name: str, *, environment: str
    ) -> ResourceStatus: ...

    def check_configuration(self) -> list[str]: ...


# --- On-call ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnCallRef:
    """Where a service's pages go: a PagerDuty service or an Opsgenie team, and the annotation
    that points the catalog at it (`pagerduty.com/service-id` or `opsgenie.com/team`)."""

    provider: str  # "pagerduty" or "opsgenie"
    id: str
    url: str
    annotation_key: str
    annotation_value: str


class OnCall(Protocol):
    """Creates (or reuses) the thing that pages a team for a service, idempotently."""

    name: str

    def ensure_service(
        self,
        name: str,
        *,
        team: str,
        description: str = "",
        escalation_policy: str | None = None,
    ) -> tuple[OnCallRef, bool]:
        """Create or reuse the on-call object for service `name` owned by `team` (a catalog
        group name), attaching the team's escalation policy (PagerDuty) or schedule (Opsgenie).
        `escalation_policy` overrides the lookup. Returns (ref, changed)."""
        ...

    def check_configuration(self) -> list[str]:
        """Problems that stop this provider from working (empty when fine)."""
        ...
