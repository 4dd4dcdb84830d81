"""`local` git host: bare repositories under the data directory, written with git plumbing.

Layout: ``<PAVED_GIT_LOCAL_ROOT>/<owner>/<name>.git`` (default root: ``PAVED_DATA_DIR/git``).
Commits are built without a working tree (temporary index -> write-tree -> commit-tree ->
compare-and-swap update-ref), so concurrent workers never share a checkout.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from portal.providers.base import (
    CommitRef,
    NameTaken,
    PermanentProviderError,
    PullRequestRef,
    RepoRef,
    TransientProviderError,
)
from portal.providers.local_git import pulls
from portal.providers.local_git.client import git_out, run_git
from portal.providers.local_git.errors import PROVIDER, GitCommandError, map_error

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
logger = logging.getLogger(__name__)

MANAGED_KEY = "paved.managed"  # ownership marker in the bare repository's config
ZERO = "0" * 40


ARCHIVED_MARKER = "paved-archived"  # in the bare repository: read-only


def validate_name(kind: str, value: str) -> str:
    if not _NAME.match(value) or value.endswith(".git") or ".." in value:
        raise PermanentProviderError(
            f"{kind} {value!r} is not a valid repository {kind}: use letters, digits, '.', '-' "
            "or '_', start with a letter or digit, and do not end in '.git'",
            provider=PROVIDER,
        )
    return value


def validate_path(path: str) -> str:
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..", ".git") for p in parts):
        raise PermanentProviderError(
            f"file path {path!r} is not a clean relative path", provider=PROVIDER
        )
    return path


def local_root() -> Path:
    return Path(settings.PAVED_GIT_LOCAL_ROOT)


def repo_dir(owner: str, name: str) -> Path:
    return local_root() / validate_name("owner", owner) / f"{validate_name('name', name)}.git"


class LocalGitHost:
    """Real git repositories on this machine; browsable at /git/<owner>/<name>/."""

    name = "local"

    # --- repositories --------------------------------------------------------------------
    def _ref(self, owner: str, name: str, git_dir: Path) -> RepoRef:
        branch = self._default_branch(git_dir)
        base = settings.PAVED_BASE_URL
        return RepoRef(
            host=self.name,
            owner=owner,
            name=name,
            default_branch=branch,
            web_url=base + reverse("git:repo", args=[owner, name]),
            clone_url=f"{base}/git/{owner}/{name}.git",
        )

    def _default_branch(self, git_dir: Path) -> str:
        head = git_out(["symbolic-ref", "--short", "HEAD"], git_dir=git_dir)
        return head or "main"

    def _is_managed(self, git_dir: Path) -> bool:
        proc = run_git(["config", "--get", MANAGED_KEY], git_dir=git_dir, check=False)
        return proc.stdout.decode().strip() == "true"

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
        # `resume` and `warn` have nothing to do here: the repository appears with its marker in
        # one rename, so there is never a half-created one, and nothing optional can be refused.
        git_dir = repo_dir(owner, name)
        try:
            if git_dir.exists():
                return self._existing(owner, name, git_dir), False
            git_dir.parent.mkdir(parents=True, exist_ok=True)
            # Creations under one owner queue on the owner folder's lock: two racing workers
            # cannot both create the repository, and a leftover creation folder found while
            # holding the lock belongs to a worker that died (flocks die with their process).
            with _owner_lock(git_dir.parent, f"{owner}/{name}"):
                if git_dir.exists():
                    return self._existing(owner, name, git_dir), False
                tmp = creating_dir(git_dir)
                if tmp.exists():
                    logger.warning(
                        "discarding %s, left by a creation of %s/%s that did not finish",
                        tmp, owner, name,
                    )  # fmt: skip
                    _rmtree(tmp)
                # Initialise next to the final path, then rename: a half-created repository
                # never becomes visible.
                tmp.mkdir()
                try:
                    run_git(["init", "--bare", "-q", "-b", default_branch, str(tmp)])
                    run_git(["config", MANAGED_KEY, "true"], git_dir=tmp)
                    run_git(["config", "paved.private", str(bool(private)).lower()], git_dir=tmp)
                    run_git(["config", "http.receivepack", "false"], git_dir=tmp)
                    if team:
                        run_git(["config", "paved.team", team], git_dir=tmp)
                    for topic in topics:
                        run_git(["config", "--add", "paved.topic", topic], git_dir=tmp)
                    (tmp / "description").write_text(
                        description.strip() + "\n" if description else ""
                    )
                    os.rename(tmp, git_dir)
                except BaseException:
                    _rmtree(tmp)  # a half-initialised repository never stays behind
                    raise
            return self._ref(owner, name, git_dir), True
        except (GitCommandError, OSError, TimeoutError) as exc:
            raise map_error(exc) from exc

    def _existing(self, owner: str, name: str, git_dir: Path) -> RepoRef:
        if not (git_dir / "HEAD").exists() or not self._is_managed(git_dir):
            raise NameTaken(
                f"repository {owner}/{name} already exists and was not created by Paved; "
                "choose another name or remove it",
                provider=PROVIDER,
            )
        return self._ref(owner, name, git_dir)

    def collect_abandoned_creations(self, *, older_than_seconds: float) -> list[str]:
        """Remove the folders of repository creations that never finished (their worker died
        before the final rename) once they are this old and no creation under that owner is
        under way. Returns "owner/folder" for each one removed."""
        root = local_root()
        if not root.is_dir():
            return []
        cutoff = time.time() - older_than_seconds
        removed: list[str] = []
        for owner_dir in sorted(root.iterdir()):
            if owner_dir.name.startswith(".") or not owner_dir.is_dir() or owner_dir.is_symlink():
                continue
            # Names of owners and repositories never start with "."; only a creation (this
            # one's ".<name>.git.creating", or an older release's ".<name>-<random>") does.
            stale = [
                p for p in owner_dir.iterdir()
                if p.name.startswith(".") and p.is_dir() and not p.is_symlink()
                and p.stat().st_mtime < cutoff
            ]  # fmt: skip
            if not stale:
                continue
            with _owner_lock(owner_dir, owner_dir.name, wait=False) as locked:
                if not locked:
                    continue  # a creation is under way right now: next time
                for path in stale:
                    _rmtree(path)
                    removed.append(f"{owner_dir.name}/{path.name}")
        if removed:
            logger.warning("removed %d unfinished repository creation(s): %s",
                           len(removed), ", ".join(removed))  # fmt: skip
        return removed

    def get_repository(self, owner: str, name: str) -> RepoRef | None:
        git_dir = repo_dir(owner, name)
        if not (git_dir / "HEAD").exists():
            return None
        return self._ref(owner, name, git_dir)

    def list_repositories(self) -> list[RepoRef]:
        """Every Paved-managed repository on this host (for the browsing page)."""
        root = local_root()
        refs = []
        for git_dir in sorted(root.glob("*/*.git")):
            if (git_dir / "HEAD").exists() and self._is_managed(git_dir):
                refs.append(self._ref(git_dir.parent.name, git_dir.name[:-4], git_dir))
        return refs

    # --- content -----------------------------------------------------------------------
    def _dir(self, repo: RepoRef) -> Path:
        git_dir = repo_dir(repo.owner, repo.name)
        if not (git_dir / "HEAD").exists():
            raise PermanentProviderError(
                f"repository {repo.full_name} does not exist", provider=PROVIDER
            )
        return git_dir

    def _resolve(self, git_dir: Path, ref: str) -> str:
        proc = run_git(
            ["rev-parse", "--verify", "-q", f"{ref}^{{commit}}"], git_dir=git_dir, check=False
        )
        return proc.stdout.decode().strip() if proc.returncode == 0 else ""

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
        git_dir = self._dir(repo)
        if (git_dir / ARCHIVED_MARKER).exists():
            raise PermanentProviderError(
                f"repository {repo.full_name} is archived; it is read-only"
            )
        paths = {validate_path(p): content for p, content in files.items()}
        removals = [validate_path(p) for p in delete if p not in paths]
        try:
            branch = branch or self._default_branch(git_dir)
            ref = f"refs/heads/{branch}"
            # Writers on this machine queue on a lock; the compare-and-swap update-ref still
            # guards against anything else moving the branch.
            with _repo_lock(git_dir, repo.full_name):
                for _attempt in range(5):
                    parent = self._resolve(git_dir, ref)
                    result = self._commit_once(
                        git_dir, ref, parent, paths, removals, message, delete_missing
                    )
                    if result is not None:
                        return result
            raise TransientProviderError(
                f"branch {branch} of {repo.full_name} keeps moving; try again",
                provider=PROVIDER,
                retry_after=1,
            )
        except (GitCommandError, OSError, TimeoutError) as exc:
            raise map_error(exc) from exc

    def _commit_once(
        self,
        git_dir: Path,
        ref: str,
        parent: str,
        files: Mapping[str, bytes],
        removals: Sequence[str],
        message: str,
        delete_missing: bool,
    ) -> CommitRef | None:
        """One attempt; None when the branch moved under us (the caller retries)."""
        with tempfile.TemporaryDirectory(prefix="paved-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            modes: dict[str, str] = {}
            if parent and not delete_missing:
                run_git(["read-tree", parent], git_dir=git_dir, env=env)
                listing = run_git(["ls-files", "-s", "-z"], git_dir=git_dir, env=env).stdout
                for entry in listing.split(b"\0"):
                    if entry:
                        meta, raw_path = entry.split(b"\t", 1)
                        modes[raw_path.decode()] = meta.split(b" ")[0].decode()
            lines = []
            for path, content in sorted(files.items()):
                sha = git_out(["hash-object", "-w", "--stdin"], git_dir=git_dir, input=content)
                # Keep an existing file's mode (an executable script stays executable).
                lines.append(f"{modes.get(path, '100644')} {sha}\t{path}")
            for path in removals:
                if path in modes:
                    lines.append(f"0 {ZERO}\t{path}")
            if lines:
                run_git(
                    ["update-index", "--index-info"],
                    git_dir=git_dir,
                    env=env,
                    input=("\n".join(lines) + "\n").encode(),
                )
            tree = git_out(["write-tree"], git_dir=git_dir, env=env)
        if parent:
            if git_out(["rev-parse", f"{parent}^{{tree}}"], git_dir=git_dir) == tree:
                return CommitRef(sha=parent, changed=False)
        elif not files:
            return CommitRef(sha="", changed=False)
        args = ["commit-tree", tree, "-m", message or "Update files"]
        if parent:
            args += ["-p", parent]
        commit = git_out(args, git_dir=git_dir)
        proc = run_git(["update-ref", ref, commit, parent or ZERO], git_dir=git_dir, check=False)
        if proc.returncode != 0:
            return None  # compare-and-swap lost: someone else committed first
        return CommitRef(sha=commit, changed=True)

    def read_file(self, repo: RepoRef, path: str, *, ref: str | None = None) -> bytes | None:
        git_dir = self._dir(repo)
        try:
            rev = ref or self._default_branch(git_dir)
            proc = run_git(
                ["cat-file", "blob", f"{rev}:{validate_path(path)}"], git_dir=git_dir, check=False
            )
            return proc.stdout if proc.returncode == 0 else None
        except (GitCommandError, OSError, TimeoutError) as exc:
            raise map_error(exc) from exc

    def list_files(self, repo: RepoRef, *, ref: str | None = None) -> list[str]:
        git_dir = self._dir(repo)
        try:
            commit = self._resolve(git_dir, ref or self._default_branch(git_dir))
            if not commit:
                return []
            out = run_git(["ls-tree", "-r", "-z", "--name-only", commit], git_dir=git_dir).stdout
            return sorted(p.decode() for p in out.split(b"\0") if p)
        except (GitCommandError, OSError, TimeoutError) as exc:
            raise map_error(exc) from exc

    def commit_count(self, repo: RepoRef, *, ref: str | None = None) -> int:
        git_dir = self._dir(repo)
        commit = self._resolve(git_dir, ref or self._default_branch(git_dir))
        if not commit:
            return 0
        return int(git_out(["rev-list", "--count", commit], git_dir=git_dir))

    def ensure_webhook(self, repo: RepoRef, *, url: str, secret: str) -> bool:
        """Record the hook URL (never the secret). Local repositories only change through Paved
        itself, so there is no push from outside to notify about; the record keeps `ensure`
        idempotent and shows on the repository page."""
        git_dir = self._dir(repo)
        current = run_git(["config", "--get-all", "paved.webhook"], git_dir=git_dir, check=False)
        if url in current.stdout.decode().split():
            return False
        run_git(["config", "--add", "paved.webhook", url], git_dir=git_dir)
        return True

    # --- branches and pull requests ----------------------------------------------------------
    def ensure_branch(self, repo: RepoRef, branch: str, *, from_ref: str) -> bool:
        git_dir = self._dir(repo)
        try:
            pulls.validate_branch(branch)
            if self._resolve(git_dir, f"refs/heads/{branch}"):
                return False
            start = self._resolve(git_dir, from_ref)
            if not start:
                raise PermanentProviderError(
                    f"branch {from_ref} does not exist in {repo.full_name}", provider=PROVIDER
                )
            # Create only if still absent (the all-zero old value): a racing creator wins.
            proc = run_git(
                ["update-ref", f"refs/heads/{branch}", start, ZERO], git_dir=git_dir, check=False
            )
            return proc.returncode == 0
        except (GitCommandError, OSError, TimeoutError) as exc:
            raise map_error(exc) from exc

    def pull_request_url(self, repo: RepoRef, number: int) -> str:
        return settings.PAVED_BASE_URL + reverse("git:pull", args=[repo.owner, repo.name, number])

    def _pull_ref(self, repo: RepoRef, record: pulls.PullRecord) -> PullRequestRef:
        return PullRequestRef(
            number=record.number,
            url=self.pull_request_url(repo, record.number),
            head=record.head,
            base=record.base,
            title=record.title,
            state=record.state,
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
        git_dir = self._dir(repo)
        try:
            with _repo_lock(git_dir, repo.full_name):
                record, created = pulls.create(
                    git_dir, head=head, base=base, title=title, body=body, draft=draft
                )
            return self._pull_ref(repo, record), created
        except (GitCommandError, OSError, TimeoutError) as exc:
            raise map_error(exc) from exc

    def update_pull_request(
        self, repo: RepoRef, number: int, *, title: str, body: str
    ) -> PullRequestRef:
        git_dir = self._dir(repo)
        try:
            with _repo_lock(git_dir, repo.full_name):
                record = pulls.update(git_dir, number, title=title, body=body)
            return self._pull_ref(repo, record)
        except (GitCommandError, OSError, TimeoutError) as exc:
            raise map_error(exc) from exc

    def find_pull_request(self, repo: RepoRef, number: int) -> PullRequestRef | None:
        record = pulls.read(self._dir(repo), number)
        return None if record is None else self._pull_ref(repo, record)

    def close_pull_request(self, repo: RepoRef, number: int, *, closed_by: str) -> pulls.PullRecord:
        git_dir = self._dir(repo)
        try:
            with _repo_lock(git_dir, repo.full_name):
                return pulls.close(git_dir, number, closed_by=closed_by)
        except (GitCommandError, OSError, TimeoutError) as exc:
            raise map_error(exc) from exc

    def list_pull_requests(self, repo: RepoRef) -> list[pulls.PullRecord]:
        return pulls.read_all(self._dir(repo))

    def get_pull_request(self, repo: RepoRef, number: int) -> pulls.PullRecord | None:
        return pulls.read(self._dir(repo), number)

    def pull_request_changes(
        self, repo: RepoRef, record: pulls.PullRecord
    ) -> tuple[list[pulls.ChangedFile], str, bool]:
        try:
            return pulls.changes(self._dir(repo), record)
        except (GitCommandError, OSError, TimeoutError) as exc:
            raise map_error(exc) from exc

    def merge_pull_request(self, repo: RepoRef, number: int, *, merged_by: str) -> pulls.PullRecord:
        git_dir = self._dir(repo)
        try:
            with _repo_lock(git_dir, repo.full_name):
                return pulls.merge(git_dir, number, merged_by=merged_by)
        except (GitCommandError, OSError, TimeoutError) as exc:
            raise map_error(exc) from exc

    def delete_repository(self, repo: RepoRef) -> bool:
        git_dir = repo_dir(repo.owner, repo.name)
        if not (git_dir / "HEAD").exists():
            return False
        # Renamed away first (atomic), so nobody sees half a repository while it is removed.
        doomed = git_dir.with_name(f".deleted-{git_dir.name}-{uuid.uuid4().hex[:8]}")
        try:
            with _repo_lock(git_dir, repo.full_name):
                git_dir.rename(doomed)
            shutil.rmtree(doomed, ignore_errors=True)
        except OSError as exc:
            raise map_error(exc) from exc
        return True

    def archive_repository(self, repo: RepoRef) -> bool:
        marker = self._dir(repo) / ARCHIVED_MARKER
        if marker.exists():
            return False
        marker.write_text("archived by Paved\n")
        return True

    def is_archived(self, repo: RepoRef) -> bool:
        return (self._dir(repo) / ARCHIVED_MARKER).exists()

    def is_private(self, repo: RepoRef) -> bool:
        """Created private (the default); a repository without the setting counts as private."""
        value = git_out(
            ["config", "--default", "true", "--get", "paved.private"], git_dir=self._dir(repo)
        )
        return value.strip().lower() != "false"

    def team_of(self, repo: RepoRef) -> str:
        """The team slug given when the repository was created (may be empty)."""
        return git_out(["config", "--default", "", "--get", "paved.team"], git_dir=self._dir(repo))

    def check_configuration(self) -> list[str]:
        problems = []
        try:
            run_git(["--version"], timeout=10)
        except (GitCommandError, OSError, TimeoutError) as exc:
            problems.append(f"local git: cannot run git ({exc})")
        root = local_root()
        try:
            root.mkdir(parents=True, exist_ok=True)
            if not os.access(root, os.W_OK):
                problems.append(f"local git: {root} is not writable")
        except OSError as exc:
            problems.append(f"local git: cannot create {root} ({exc})")
        return problems


LOCK_WAIT_SECONDS = 60


@contextmanager
def _repo_lock(git_dir: Path, full_name: str) -> Iterator[None]:
    """An exclusive flock on <repo>/paved.lock, waited for at most LOCK_WAIT_SECONDS."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    with open(git_dir / "paved.lock", "a+b") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TransientProviderError(
                        f"{full_name} is busy with another commit; try again",
                        provider=PROVIDER,
                        retry_after=5,
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _owner_lock(owner_dir: Path, label: str, *, wait: bool = True) -> Iterator[bool]:
    """An exclusive flock on the owner's folder itself (no lock file to leave behind). Yields
    False at once when it is taken and `wait` is off; waits LOCK_WAIT_SECONDS otherwise."""
    fd = os.open(owner_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    yield False
                    return
                if time.monotonic() > deadline:
                    raise TransientProviderError(
                        f"another repository of {label.split('/')[0]} is being created; try again",
                        provider=PROVIDER,
                        retry_after=5,
                    ) from None
                time.sleep(0.05)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def creating_dir(git_dir: Path) -> Path:
    """Where the repository `git_dir` is initialised before it is renamed into place."""
    return git_dir.parent / f".{git_dir.name}.creating"


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
