"""`github` git host: repositories in an organisation, whole trees as ONE commit (Git Data API).

Ownership marker: the `paved-managed` topic. A repository with the same name but without the
topic belongs to someone else and is never touched — unless the caller says (`resume`) that its
own record shows an earlier attempt of the same step created it: GitHub takes no topics in the
create call, so a failure (or a dead worker) between the two calls leaves a repository only that
record can recognise. Branch protection and team access that GitHub refuses for good (plan,
rights, unknown team) are reported through `warn`, never skipped silently.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from github import Github, GithubException, InputGitTreeElement
from github.GitCommit import GitCommit
from github.GitRef import GitRef
from github.Organization import Organization
from github.PullRequest import PullRequest
from github.Repository import Repository

from portal.providers.base import (
    CommitRef,
    NameTaken,
    PermanentProviderError,
    ProviderError,
    PullRequestRef,
    RepoRef,
    TransientProviderError,
)
from portal.providers.github.client import GitHubSettings, make_client
from portal.providers.github.errors import PROVIDER, error_message, map_error

MANAGED_TOPIC = "paved-managed"
_SHA = re.compile(r"^[0-9a-f]{40}$")
logger = logging.getLogger(__name__)


def _log_warning(message: str) -> None:
    logger.warning("github: %s", message)


def _protection_hint(exc: GithubException) -> str:
    """What to do about a refused branch protection, from GitHub's documented answers:
    https://docs.github.com/rest/branches/branch-protection#update-branch-protection (needs admin
    rights; private repositories need GitHub Pro, Team or Enterprise)."""
    text = error_message(exc).lower()
    if "upgrade" in text or "make this repository public" in text:
        return (
            "Branch protection on a private repository needs a paid GitHub plan: upgrade the "
            "organisation, protect the branch by hand, or set PAVED_GITHUB_BRANCH_PROTECTION=false."
        )
    return (
        "The credentials need admin rights on the repository (a GitHub App needs the "
        "Administration: write permission); protect the branch by hand meanwhile."
    )


def git_blob_sha(content: bytes) -> str:
    """The SHA git (and GitHub) gives a blob, to spot unchanged files without uploading them."""
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


class GitHubHost:
    name = "github"

    def __init__(self, config: GitHubSettings | None = None) -> None:
        self.config = config or GitHubSettings.from_settings()
        self._client: Github | None = None

    @property
    def gh(self) -> Github:
        if self._client is None:
            with mapped("authenticating to GitHub"):
                self._client = make_client(self.config)
        return self._client

    def _ref(self, repo: Repository) -> RepoRef:
        return RepoRef(
            host=self.name,
            owner=repo.owner.login,
            name=repo.name,
            default_branch=repo.default_branch,
            web_url=repo.html_url,
            clone_url=repo.clone_url,
        )

    def _get(self, owner: str, name: str) -> Repository | None:
        try:
            return self.gh.get_repo(f"{owner}/{name}")
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise

    # --- repositories ----------------------------------------------------------------------
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
        report = warn or _log_warning
        with mapped(f"creating repository {owner}/{name}"):
            repo = self._get(owner, name)
            created = False
            if repo is None:
                org = self._org(owner)
                try:
                    # auto_init: the Git Data API refuses an empty repository (409). GitHub takes
                    # no topics here, so the marker needs the separate call in _finish; until it
                    # lands only the caller's own record (resume) says the repository is ours.
                    repo = org.create_repo(
                        name, description=description, private=private, auto_init=True
                    )
                    created = True
                except GithubException as exc:
                    if exc.status != 422:
                        raise
                    repo = self._get(owner, name)  # created concurrently: check who owns it
                    if repo is None:
                        raise
                    resume = False  # someone else created it a moment ago: never adopt it
            if created or resume:
                repo = self._finish(repo, default_branch, list(topics), team, report)
                return self._ref(repo), True
            if MANAGED_TOPIC not in (repo.topics or []):
                raise NameTaken(
                    f"repository {owner}/{name} already exists and was not created by Paved "
                    f"(no '{MANAGED_TOPIC}' topic); choose another name",
                    provider=PROVIDER,
                )
            if team:
                self._grant(repo, team, report)
            return self._ref(repo), False

    def _org(self, owner: str) -> Organization:
        try:
            org = self.gh.get_organization(owner)
            org.login  # noqa: B018  (PyGithub's organisation is lazy: this is the GET)
        except GithubException as exc:
            if exc.status == 404:
                raise PermanentProviderError(
                    f"GitHub organisation {owner!r} does not exist or these credentials cannot "
                    "see it",
                    provider=PROVIDER,
                ) from exc
            raise
        return org

    def _finish(
        self,
        repo: Repository,
        default_branch: str,
        topics: list[str],
        team: str | None,
        warn: Callable[[str], None],
    ) -> Repository:
        """Everything after the create call, each part safe to repeat: a retry after any failure
        (or a worker that died in between) runs it again and completes the repository. The
        marker goes first, so from then on the repository is recognisably Paved's."""
        self._mark(repo, topics, warn)
        if default_branch != repo.default_branch:
            self._switch_default_branch(repo, default_branch)
            repo = self.gh.get_repo(repo.full_name)
        if settings.PAVED_GITHUB_BRANCH_PROTECTION:
            self._protect(repo, warn)
        if team:
            self._grant(repo, team, warn)
        return repo

    def _mark(self, repo: Repository, topics: list[str], warn: Callable[[str], None]) -> None:
        wanted = list(dict.fromkeys([MANAGED_TOPIC, *topics]))
        if set(wanted) <= set(repo.topics or []):
            return
        try:
            repo.replace_topics(wanted)
        except GithubException as exc:
            # 422: a topic GitHub does not accept (upper case, spaces, over 50 characters).
            # https://docs.github.com/rest/repos/repos#replace-all-repository-topics
            if exc.status != 422 or wanted == [MANAGED_TOPIC]:
                raise
            repo.replace_topics([MANAGED_TOPIC])
            warn(
                f"GitHub refused the topics {', '.join(topics)} for {repo.full_name} "
                f"({error_message(exc)}); the repository carries only '{MANAGED_TOPIC}'. Topics are "
                "lower-case letters, digits and hyphens, at most 50 characters."
            )

    @staticmethod
    def _switch_default_branch(repo: Repository, branch: str) -> None:
        main = repo.get_git_ref(f"heads/{repo.default_branch}")
        try:
            repo.create_git_ref(f"refs/heads/{branch}", main.object.sha)
        except GithubException as exc:
            if exc.status != 422:  # "Reference already exists": an earlier attempt made it
                raise
        repo.edit(default_branch=branch)

    def _protect(self, repo: Repository, warn: Callable[[str], None]) -> None:
        """No force pushes or deletion, linear history; reviews only when configured, because
        required reviews also stop Paved's own commits unless it may bypass them. A refusal the
        plan or the credentials cause becomes a warning: the repository is still usable."""
        reviews: int = settings.PAVED_GITHUB_REQUIRED_REVIEWS
        # Every boolean said explicitly: PyGithub would send null for the ones left out, which
        # GitHub's API description does not allow.
        options: dict[str, Any] = {
            "enforce_admins": False,
            "required_linear_history": True,
            "allow_force_pushes": False,
            "allow_deletions": False,
            "required_conversation_resolution": False,
            "lock_branch": False,
            "block_creations": False,
            "allow_fork_syncing": False,
        }
        if reviews:
            options["required_approving_review_count"] = reviews
        try:
            repo.get_branch(repo.default_branch).edit_protection(**options)
        except GithubException as exc:
            if isinstance(map_error(exc, ""), TransientProviderError):
                raise
            warn(
                f"branch {repo.default_branch} of {repo.full_name} is NOT protected: GitHub "
                f"refused branch protection ({error_message(exc)}, HTTP {exc.status}). "
                f"{_protection_hint(exc)}"
            )

    def _grant(self, repo: Repository, team: str, warn: Callable[[str], None]) -> None:
        org = repo.owner.login
        try:
            self.gh.get_organization(org).get_team_by_slug(team).update_team_repository(
                repo, "push"
            )
        except GithubException as exc:
            if isinstance(map_error(exc, ""), TransientProviderError):
                raise
            why = (
                f"there is no team {team!r} in {org}"
                if exc.status == 404
                else f"GitHub refused it ({error_message(exc)}, HTTP {exc.status})"
            )
            warn(
                f"team {team} was NOT given write access to {repo.full_name}: {why}. Check the "
                "template's `access` value, or grant the access in the repository's settings."
            )

    def get_repository(self, owner: str, name: str) -> RepoRef | None:
        with mapped(f"reading repository {owner}/{name}"):
            repo = self._get(owner, name)
            return self._ref(repo) if repo is not None else None

    def delete_repository(self, repo: RepoRef) -> bool:
        with mapped(f"deleting repository {repo.full_name}"):
            found = self._get(repo.owner, repo.name)
            if found is None:
                return False
            found.delete()
            return True

    def archive_repository(self, repo: RepoRef) -> bool:
        with mapped(f"archiving repository {repo.full_name}"):
            found = self._repo(repo)
            if found.archived:
                return False
            found.edit(archived=True)
            return True

    def is_private(self, repo: RepoRef) -> bool:
        with mapped(f"reading repository {repo.full_name}"):
            return bool(self._repo(repo).private)

    # --- content -------------------------------------------------------------------------
    def _repo(self, ref: RepoRef) -> Repository:
        repo = self._get(ref.owner, ref.name)
        if repo is None:
            raise PermanentProviderError(
                f"repository {ref.full_name} does not exist", provider=PROVIDER
            )
        return repo

    def _head(self, repo: Repository, branch: str) -> tuple[GitRef, GitCommit]:
        try:
            ref = repo.get_git_ref(f"heads/{branch}")
        except GithubException as exc:
            if exc.status == 409:
                raise PermanentProviderError(
                    f"{repo.full_name} is empty; Paved creates repositories with an initial "
                    "commit, so this one was created elsewhere",
                    provider=PROVIDER,
                ) from exc
            if exc.status == 404:
                raise PermanentProviderError(
                    f"branch {branch} does not exist in {repo.full_name}", provider=PROVIDER
                ) from exc
            raise
        return ref, repo.get_git_commit(ref.object.sha)

    def _tree(self, repo: Repository, commit: GitCommit) -> dict[str, tuple[str, str]]:
        tree = repo.get_git_tree(commit.tree.sha, recursive=True)
        if tree.raw_data.get("truncated"):
            raise PermanentProviderError(
                f"{repo.full_name} has too many files for one tree listing", provider=PROVIDER
            )
        return {e.path: (e.mode, e.sha) for e in tree.tree if e.type == "blob"}

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
            gh_repo = self._repo(repo)
            branch = branch or gh_repo.default_branch
            for _attempt in range(3):
                result = self._commit_once(gh_repo, branch, files, message, delete_missing, delete)
                if result is not None:
                    return result
            raise TransientProviderError(
                f"branch {branch} of {repo.full_name} keeps moving; try again",
                provider=PROVIDER,
                retry_after=5,
            )

    def _commit_once(
        self,
        repo: Repository,
        branch: str,
        files: Mapping[str, bytes],
        message: str,
        delete_missing: bool,
        delete: Sequence[str],
    ) -> CommitRef | None:
        ref, parent = self._head(repo, branch)
        existing = self._tree(repo, parent)
        elements = []
        for path, content in sorted(files.items()):
            mode, sha = existing.get(path, ("100644", ""))
            if sha == git_blob_sha(content):
                continue  # unchanged: no upload
            blob = repo.create_git_blob(base64.b64encode(content).decode(), "base64")
            elements.append(InputGitTreeElement(path, mode, "blob", sha=blob.sha))
        doomed = set(existing) - set(files) if delete_missing else set(delete) - set(files)
        for path in sorted(doomed & set(existing)):
            elements.append(InputGitTreeElement(path, existing[path][0], "blob", sha=None))
        if not elements:
            return CommitRef(sha=parent.sha, changed=False)
        # base_tree keeps every file we did not mention; deletions are explicit sha=None entries.
        tree = repo.create_git_tree(elements, base_tree=parent.tree)
        commit = repo.create_git_commit(message, tree, [parent])
        try:
            ref.edit(commit.sha, force=False)
        except GithubException as exc:
            if exc.status == 422 and "fast forward" in str(exc.data).lower():
                return None  # the branch moved since we read it: rebuild on the new head
            raise
        return CommitRef(sha=commit.sha, changed=True)

    def _resolve(self, repo: Repository, ref: str | None) -> GitCommit | None:
        rev = ref or repo.default_branch
        if _SHA.match(rev):
            return repo.get_git_commit(rev)
        for prefix in ("heads/", "tags/"):
            try:
                return repo.get_git_commit(repo.get_git_ref(prefix + rev).object.sha)
            except GithubException as exc:
                if exc.status not in (404, 409):
                    raise
        return None

    def read_file(self, repo: RepoRef, path: str, *, ref: str | None = None) -> bytes | None:
        with mapped(f"reading {path} from {repo.full_name}"):
            gh_repo = self._repo(repo)
            commit = self._resolve(gh_repo, ref)
            if commit is None:
                return None
            entry = self._tree(gh_repo, commit).get(path)
            if entry is None:
                return None
            return base64.b64decode(gh_repo.get_git_blob(entry[1]).content)

    def list_files(self, repo: RepoRef, *, ref: str | None = None) -> list[str]:
        with mapped(f"listing files of {repo.full_name}"):
            gh_repo = self._repo(repo)
            commit = self._resolve(gh_repo, ref)
            return sorted(self._tree(gh_repo, commit)) if commit else []

    def commit_count(self, repo: RepoRef, *, ref: str | None = None, limit: int = 100) -> int:
        """Commits on the first-parent chain (up to `limit`)."""
        with mapped(f"counting commits of {repo.full_name}"):
            gh_repo = self._repo(repo)
            commit = self._resolve(gh_repo, ref)
            count = 0
            while commit is not None and count < limit:
                count += 1
                commit = commit.parents[0] if commit.parents else None
                if commit is not None:
                    commit = gh_repo.get_git_commit(commit.sha)
            return count

    def ensure_webhook(self, repo: RepoRef, *, url: str, secret: str) -> bool:
        with mapped(f"creating the push webhook of {repo.full_name}"):
            gh_repo = self._repo(repo)
            if any(hook.config.get("url") == url for hook in gh_repo.get_hooks()):
                return False
            gh_repo.create_hook(
                "web",
                {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"},
                events=["push"],
                active=True,
            )
            return True

    # --- branches and pull requests ----------------------------------------------------------
    def ensure_branch(self, repo: RepoRef, branch: str, *, from_ref: str) -> bool:
        with mapped(f"creating branch {branch} in {repo.full_name}"):
            gh_repo = self._repo(repo)
            try:
                gh_repo.get_git_ref(f"heads/{branch}")
                return False
            except GithubException as exc:
                if exc.status != 404:
                    raise
            _ref, start = self._head(gh_repo, from_ref)
            try:
                gh_repo.create_git_ref(f"refs/heads/{branch}", start.sha)
            except GithubException as exc:
                if exc.status == 422 and "already exists" in str(exc.data).lower():
                    return False  # created concurrently
                raise
            return True

    @staticmethod
    def _pull_ref(pr: PullRequest) -> PullRequestRef:
        # `merged_at`, not `merged`: list responses omit `merged`, and reading it would cost
        # PyGithub another request per pull request.
        state = "merged" if pr.merged_at is not None else pr.state
        return PullRequestRef(
            number=pr.number,
            url=pr.html_url,
            head=pr.head.ref,
            base=pr.base.ref,
            title=pr.title,
            state=state,
        )

    def _open_pull(self, repo: Repository, head: str, base: str) -> PullRequest | None:
        for pr in repo.get_pulls(state="open", head=f"{repo.owner.login}:{head}", base=base):
            return pr
        return None

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
        with mapped(f"opening a pull request in {repo.full_name}"):
            gh_repo = self._repo(repo)
            existing = self._open_pull(gh_repo, head, base)
            if existing is not None:
                return self._pull_ref(existing), False
            try:
                pr = gh_repo.create_pull(base=base, head=head, title=title, body=body, draft=draft)
            except GithubException as exc:
                text = str(exc.data).lower()
                if exc.status == 422 and "already exists" in text:
                    again = self._open_pull(gh_repo, head, base)  # opened concurrently
                    if again is not None:
                        return self._pull_ref(again), False
                if exc.status == 422 and "no commits between" in text:
                    raise PermanentProviderError(
                        f"no commits between {base} and {head}: there is nothing to propose",
                        provider=PROVIDER,
                    ) from exc
                raise
            return self._pull_ref(pr), True

    def update_pull_request(
        self, repo: RepoRef, number: int, *, title: str, body: str
    ) -> PullRequestRef:
        with mapped(f"updating pull request #{number} in {repo.full_name}"):
            pr = self._pull(repo, number)
            if pr is None:
                raise PermanentProviderError(
                    f"pull request #{number} does not exist in {repo.full_name}", provider=PROVIDER
                )
            pr.edit(title=title, body=body)  # PATCH answers the updated pull request
            return self._pull_ref(pr)

    def find_pull_request(self, repo: RepoRef, number: int) -> PullRequestRef | None:
        with mapped(f"reading pull request #{number} in {repo.full_name}"):
            pr = self._pull(repo, number)
            return None if pr is None else self._pull_ref(pr)

    def _pull(self, repo: RepoRef, number: int) -> PullRequest | None:
        try:
            return self._repo(repo).get_pull(number)
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise

    def check_configuration(self) -> list[str]:
        problems = self.config.problems()
        if problems:
            return problems
        try:
            with mapped("checking GitHub"):
                if self.config.org:
                    self.gh.get_organization(self.config.org).login  # noqa: B018
                else:
                    self.gh.get_rate_limit()
        except ProviderError as exc:  # a check reports, it does not raise
            return [str(exc)]
        return []
