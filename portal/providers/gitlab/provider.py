"""`gitlab` git host: projects in a group (namespace), whole trees as ONE commit (Commits API).

Ownership marker: the `paved-managed` topic, given in the create call itself (GitLab takes topics
there), so a project without it belongs to someone else and is never touched. Content goes in as
one commit through the Commits API, the way the github provider uses the Git Data API: one
request with a create/update/delete action per changed file, nothing for unchanged files.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import gitlab
from gitlab.exceptions import GitlabError, GitlabGetError
from gitlab.v4.objects import Project, ProjectMergeRequest

from portal.providers.base import (
    CommitRef,
    NameTaken,
    PermanentProviderError,
    ProviderError,
    PullRequestRef,
    RepoRef,
)
from portal.providers.gitlab.client import GitLabSettings, make_client
from portal.providers.gitlab.errors import PROVIDER, error_message, map_error

MANAGED_TOPIC = "paved-managed"
VISIBILITIES = ("private", "internal", "public")


def git_blob_sha(content: bytes) -> str:
    """GitLab's tree listing gives each file's git blob SHA: unchanged files are not re-sent."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()  # noqa: S324


@contextmanager
def mapped(doing: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        mapped_exc = map_error(exc, doing)
        if mapped_exc is exc:
            raise
        raise mapped_exc from exc


def _status(exc: GitlabError) -> int:
    return int(exc.response_code or 0)


class GitLabHost:
    name = "gitlab"

    def __init__(self, config: GitLabSettings | None = None) -> None:
        self.config = config or GitLabSettings.from_settings()
        self._client: gitlab.Gitlab | None = None

    @property
    def gl(self) -> gitlab.Gitlab:
        if self._client is None:
            with mapped("connecting to GitLab"):
                self._client = make_client(self.config)
        return self._client

    def _ref(self, project: Project) -> RepoRef:
        path = str(project.path_with_namespace)
        owner, _, name = path.rpartition("/")
        return RepoRef(
            host=self.name,
            owner=owner,
            name=name,
            default_branch=str(project.attributes.get("default_branch") or "main"),
            web_url=str(project.web_url),
            clone_url=str(project.attributes.get("http_url_to_repo") or ""),
        )

    def _get(self, owner: str, name: str) -> Project | None:
        try:
            return self.gl.projects.get(f"{owner}/{name}")
        except GitlabError as exc:
            if _status(exc) == 404:
                return None
            raise

    def _project(self, ref: RepoRef) -> Project:
        project = self._get(ref.owner, ref.name)
        if project is None:
            raise PermanentProviderError(
                f"project {ref.full_name} does not exist", provider=PROVIDER
            )
        return project

    def project_id(self, ref: RepoRef) -> int:
        with mapped(f"reading project {ref.full_name}"):
            return int(self._project(ref).id)

    # --- projects ----------------------------------------------------------------------------
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
        visibility: str | None = None,
    ) -> tuple[RepoRef, bool]:
        """`visibility` (private/internal/public) wins over `private` where GitLab has three.
        `team` and `resume` have nothing to do here: access comes from the group, and the marker
        is part of the create call."""
        chosen = visibility or ("private" if private else "public")
        if chosen not in VISIBILITIES:
            raise PermanentProviderError(
                f"repoVisibility {chosen!r} is not one of {', '.join(VISIBILITIES)}",
                provider=PROVIDER,
            )
        with mapped(f"creating project {owner}/{name}"):
            project = self._get(owner, name)
            if project is not None:
                if MANAGED_TOPIC not in (project.attributes.get("topics") or []):
                    raise NameTaken(
                        f"project {owner}/{name} already exists and was not created by Paved "
                        f"(no '{MANAGED_TOPIC}' topic); choose another name",
                        provider=PROVIDER,
                    )
                return self._ref(project), False
            namespace = self._namespace(owner)
            project = self.gl.projects.create(
                {
                    "name": name,
                    "path": name,
                    "namespace_id": namespace,
                    "description": description,
                    "visibility": chosen,
                    "default_branch": default_branch,
                    "topics": list(dict.fromkeys([MANAGED_TOPIC, *topics])),
                }
            )
            return self._ref(project), True

    def _namespace(self, owner: str) -> int:
        try:
            return int(self.gl.namespaces.get(owner).id)
        except GitlabError as exc:
            if _status(exc) == 404:
                raise PermanentProviderError(
                    f"GitLab group {owner!r} does not exist or this token cannot see it",
                    provider=PROVIDER,
                ) from exc
            raise

    def get_repository(self, owner: str, name: str) -> RepoRef | None:
        with mapped(f"reading project {owner}/{name}"):
            project = self._get(owner, name)
            return self._ref(project) if project is not None else None

    def delete_repository(self, repo: RepoRef) -> bool:
        with mapped(f"deleting project {repo.full_name}"):
            project = self._get(repo.owner, repo.name)
            if project is None:
                return False
            project.delete()
            return True

    def archive_repository(self, repo: RepoRef) -> bool:
        with mapped(f"archiving project {repo.full_name}"):
            project = self._project(repo)
            if project.attributes.get("archived"):
                return False
            project.archive()
            return True

    def is_private(self, repo: RepoRef) -> bool:
        with mapped(f"reading project {repo.full_name}"):
            return self._project(repo).attributes.get("visibility") != "public"

    # --- content -----------------------------------------------------------------------------
    def _tree(self, project: Project, ref: str) -> dict[str, str] | None:
        """path -> blob SHA on `ref`; None when the branch (or the whole repository) is empty."""
        try:
            items = project.repository_tree(ref=ref, recursive=True, get_all=True)
        except GitlabError as exc:
            if _status(exc) == 404:
                return None
            raise
        return {str(i["path"]): str(i["id"]) for i in items if i.get("type") == "blob"}

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
        with mapped(f"committing to {repo.full_name}"):
            project = self._project(repo)
            branch = branch or str(project.attributes.get("default_branch") or "main")
            existing = self._tree(project, branch) or {}
            actions: list[dict[str, Any]] = []
            for path, content in sorted(files.items()):
                if existing.get(path) == git_blob_sha(content):
                    continue
                actions.append(
                    {
                        "action": "update" if path in existing else "create",
                        "file_path": path,
                        "content": base64.b64encode(content).decode(),
                        "encoding": "base64",
                    }
                )
            doomed = set(existing) - set(files) if delete_missing else set(delete) - set(files)
            actions += [
                {"action": "delete", "file_path": p} for p in sorted(doomed & set(existing))
            ]
            if not actions:
                return CommitRef(sha=self._branch_sha(project, branch), changed=False)
            commit = project.commits.create(
                {"branch": branch, "commit_message": message, "actions": actions}
            )
            return CommitRef(sha=str(commit.id), changed=True)

    @staticmethod
    def _branch_sha(project: Project, branch: str) -> str:
        try:
            return str(project.branches.get(branch).commit["id"])
        except GitlabError as exc:
            if _status(exc) == 404:
                return ""
            raise

    def read_file(self, repo: RepoRef, path: str, *, ref: str | None = None) -> bytes | None:
        with mapped(f"reading {path} from {repo.full_name}"):
            project = self._project(repo)
            rev = ref or str(project.attributes.get("default_branch") or "main")
            try:
                found = project.files.get(file_path=path, ref=rev)
            except GitlabError as exc:
                if _status(exc) == 404:
                    return None
                raise
            return base64.b64decode(found.content)

    def list_files(self, repo: RepoRef, *, ref: str | None = None) -> list[str]:
        with mapped(f"listing files of {repo.full_name}"):
            project = self._project(repo)
            rev = ref or str(project.attributes.get("default_branch") or "main")
            return sorted(self._tree(project, rev) or {})

    def commit_count(self, repo: RepoRef, *, ref: str | None = None, limit: int = 100) -> int:
        """Commits on the first-parent chain (up to `limit`)."""
        with mapped(f"counting commits of {repo.full_name}"):
            project = self._project(repo)
            rev = ref or str(project.attributes.get("default_branch") or "main")
            try:
                found = project.commits.list(
                    ref_name=rev, first_parent=True, per_page=limit, get_all=False
                )
            except GitlabError as exc:
                if _status(exc) == 404:
                    return 0
                raise
            return min(len(found), limit)

    def ensure_webhook(self, repo: RepoRef, *, url: str, secret: str) -> bool:
        with mapped(f"creating the push webhook of {repo.full_name}"):
            project = self._project(repo)
            if any(hook.url == url for hook in project.hooks.list(get_all=True)):
                return False
            project.hooks.create({"url": url, "token": secret, "push_events": True})
            return True

    # --- branches and merge requests ---------------------------------------------------------
    def ensure_branch(self, repo: RepoRef, branch: str, *, from_ref: str) -> bool:
        with mapped(f"creating branch {branch} in {repo.full_name}"):
            project = self._project(repo)
            if self._branch_sha(project, branch):
                return False
            if not self._branch_sha(project, from_ref):
                raise PermanentProviderError(
                    f"branch {from_ref} does not exist in {repo.full_name}", provider=PROVIDER
                )
            try:
                project.branches.create({"branch": branch, "ref": from_ref})
            except GitlabError as exc:
                if _status(exc) == 400 and "already exists" in error_message(exc).lower():
                    return False  # created concurrently
                raise
            return True

    @staticmethod
    def _merge_ref(mr: ProjectMergeRequest) -> PullRequestRef:
        state = {"opened": "open", "merged": "merged"}.get(str(mr.state), "closed")
        return PullRequestRef(
            number=int(mr.iid),
            url=str(mr.web_url),
            head=str(mr.source_branch),
            base=str(mr.target_branch),
            title=str(mr.title),
            state=state,
        )

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
        """A merge request from `head` into `base`; an open one for the same pair is reused."""
        with mapped(f"opening a merge request in {repo.full_name}"):
            project = self._project(repo)
            for mr in project.mergerequests.list(
                state="opened", source_branch=head, target_branch=base, get_all=True
            ):
                return self._merge_ref(mr), False
            compared = project.repository_compare(base, head)
            if isinstance(compared, dict) and not compared.get("commits"):
                raise PermanentProviderError(
                    f"no commits between {base} and {head}: there is nothing to propose",
                    provider=PROVIDER,
                )
            created = project.mergerequests.create(
                {
                    "source_branch": head,
                    "target_branch": base,
                    "title": f"Draft: {title}" if draft else title,
                    "description": body,
                }
            )
            return self._merge_ref(created), True

    def update_pull_request(
        self, repo: RepoRef, number: int, *, title: str, body: str
    ) -> PullRequestRef:
        with mapped(f"updating merge request !{number} in {repo.full_name}"):
            mr = self._merge_request(repo, number)
            if mr is None:
                raise PermanentProviderError(
                    f"merge request !{number} does not exist in {repo.full_name}",
                    provider=PROVIDER,
                )
            mr.title, mr.description = title, body
            mr.save()  # PUT answers the updated merge request
            return self._merge_ref(mr)

    def find_pull_request(self, repo: RepoRef, number: int) -> PullRequestRef | None:
        with mapped(f"reading merge request !{number} in {repo.full_name}"):
            mr = self._merge_request(repo, number)
            return None if mr is None else self._merge_ref(mr)

    def _merge_request(self, repo: RepoRef, number: int) -> ProjectMergeRequest | None:
        try:
            return self._project(repo).mergerequests.get(number)
        except GitlabGetError as exc:
            if exc.response_code == 404:
                return None
            raise

    def check_configuration(self) -> list[str]:
        problems = self.config.problems()
        if problems:
            return problems
        try:
            with mapped("checking GitLab"):
                self.gl.auth()
        except ProviderError as exc:  # a check reports, it does not raise
            return [str(exc)]
        return []
