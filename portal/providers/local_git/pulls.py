"""Pull requests on the local git host: real, visible and mergeable, kept inside the bare repo.

A pull request is a JSON record at ``<repo>.git/paved-pulls/<number>.json`` (title, body, head,
base, state, who merged it and when) plus the ref ``refs/pull/<number>/head``, as on GitHub.
Everything else is computed from git: the changed files and the patch (against the merge base),
closing without merging, and the merge itself (fast-forward when possible, otherwise a merge commit built with
``git merge-tree --write-tree`` and ``commit-tree``; conflicts refuse the merge). Writers hold the
repository's lock, so numbers are unique and a pull request is merged once.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from portal.providers.base import PermanentProviderError
from portal.providers.local_git.client import git_out, run_git
from portal.providers.local_git.errors import PROVIDER

PULLS_DIR = "paved-pulls"
MAX_PATCH_BYTES = 512 * 1024
_STATUS = {"A": "added", "M": "modified", "D": "deleted", "T": "type changed"}


@dataclass
class PullRecord:
    number: int
    title: str
    head: str
    base: str
    body: str = ""
    draft: bool = False
    state: str = "open"  # open / merged / closed
    created_at: str = ""
    merged_at: str = ""
    merged_by: str = ""
    merge_commit: str = ""
    closed_at: str = ""
    closed_by: str = ""
    # Tips when merged, so a merged pull request still shows what it changed.
    base_sha: str = ""
    head_sha: str = ""

    @property
    def is_open(self) -> bool:
        return self.state == "open"


@dataclass(frozen=True)
class ChangedFile:
    status: str  # added / modified / deleted / renamed / ...
    path: str


def _dir(git_dir: Path) -> Path:
    return git_dir / PULLS_DIR


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_all(git_dir: Path) -> list[PullRecord]:
    folder = _dir(git_dir)
    if not folder.is_dir():
        return []
    records = []
    for path in folder.glob("*.json"):
        data = json.loads(path.read_text())
        known = {k: v for k, v in data.items() if k in PullRecord.__dataclass_fields__}
        records.append(PullRecord(**known))
    return sorted(records, key=lambda r: r.number, reverse=True)


def read(git_dir: Path, number: int) -> PullRecord | None:
    path = _dir(git_dir) / f"{int(number)}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return PullRecord(**{k: v for k, v in data.items() if k in PullRecord.__dataclass_fields__})


def write(git_dir: Path, record: PullRecord) -> None:
    """Atomically (write a temporary file, then rename): a reader never sees half a record."""
    folder = _dir(git_dir)
    folder.mkdir(exist_ok=True)
    data = {k: getattr(record, k) for k in PullRecord.__dataclass_fields__}
    fd, tmp = tempfile.mkstemp(prefix=".pull-", dir=folder)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
    os.replace(tmp, folder / f"{record.number}.json")


def resolve(git_dir: Path, rev: str) -> str:
    proc = run_git(
        ["rev-parse", "--verify", "-q", f"{rev}^{{commit}}"], git_dir=git_dir, check=False
    )
    return proc.stdout.decode().strip() if proc.returncode == 0 else ""


def validate_branch(name: str) -> str:
    proc = run_git(["check-ref-format", "--branch", name], check=False)
    if proc.returncode != 0 or name.startswith("-"):
        raise PermanentProviderError(f"{name!r} is not a valid branch name", provider=PROVIDER)
    return name


def create(
    git_dir: Path, *, head: str, base: str, title: str, body: str, draft: bool
) -> tuple[PullRecord, bool]:
    """Open a pull request, or return the open one for the same head and base. Call with the
    repository lock held."""
    head_sha, base_sha = (
        resolve(git_dir, f"refs/heads/{head}"),
        resolve(git_dir, f"refs/heads/{base}"),
    )
    for name, sha in ((head, head_sha), (base, base_sha)):
        if not sha:
            raise PermanentProviderError(f"branch {name} does not exist", provider=PROVIDER)
    records = read_all(git_dir)
    for record in records:
        if record.is_open and record.head == head and record.base == base:
            return record, False
    ahead = int(git_out(["rev-list", "--count", f"{base_sha}..{head_sha}"], git_dir=git_dir))
    if ahead == 0:
        raise PermanentProviderError(
            f"no commits between {base} and {head}: there is nothing to propose", provider=PROVIDER
        )
    record = PullRecord(
        number=max((r.number for r in records), default=0) + 1,
        title=title,
        head=head,
        base=base,
        body=body,
        draft=draft,
        created_at=_now(),
    )
    run_git(["update-ref", f"refs/pull/{record.number}/head", head_sha], git_dir=git_dir)
    write(git_dir, record)
    return record, True


def _range(git_dir: Path, record: PullRecord) -> tuple[str, str]:
    """(merge base, head tip) whose difference is what the pull request changes."""
    if not record.is_open and record.base_sha and record.head_sha:
        base_sha, head_sha = record.base_sha, record.head_sha
    else:
        head_sha = resolve(git_dir, f"refs/heads/{record.head}") or resolve(
            git_dir, f"refs/pull/{record.number}/head"
        )
        base_sha = resolve(git_dir, f"refs/heads/{record.base}")
    if not head_sha or not base_sha:
        return "", ""
    proc = run_git(["merge-base", base_sha, head_sha], git_dir=git_dir, check=False)
    merge_base = proc.stdout.decode().strip() if proc.returncode == 0 else base_sha
    return merge_base, head_sha


def changes(git_dir: Path, record: PullRecord) -> tuple[list[ChangedFile], str, bool]:
    """(changed files, patch text, truncated) of a pull request, computed by git."""
    start, end = _range(git_dir, record)
    if not start:
        return [], "", False
    out = run_git(
        ["diff", "--name-status", "-z", "--no-renames", start, end], git_dir=git_dir
    ).stdout.decode(errors="replace")
    parts = [p for p in out.split("\0") if p]
    files = [
        ChangedFile(status=_STATUS.get(parts[i][:1], parts[i]), path=parts[i + 1])
        for i in range(0, len(parts) - 1, 2)
    ]
    patch = run_git(["diff", "--no-renames", "--no-color", start, end], git_dir=git_dir).stdout
    truncated = len(patch) > MAX_PATCH_BYTES
    return files, patch[:MAX_PATCH_BYTES].decode("utf-8", errors="replace"), truncated


def merge(git_dir: Path, number: int, *, merged_by: str) -> PullRecord:
    """Merge an open pull request into its base: fast-forward when the base has not moved,
    else a merge commit. Call with the repository lock held."""
    record = read(git_dir, number)
    if record is None:
        raise PermanentProviderError(f"pull request #{number} does not exist", provider=PROVIDER)
    if not record.is_open:
        raise PermanentProviderError(
            f"pull request #{number} is already {record.state}", provider=PROVIDER
        )
    head_sha = resolve(git_dir, f"refs/heads/{record.head}")
    base_sha = resolve(git_dir, f"refs/heads/{record.base}")
    if not head_sha or not base_sha:
        missing = record.head if not head_sha else record.base
        raise PermanentProviderError(f"branch {missing} no longer exists", provider=PROVIDER)
    ancestor = run_git(
        ["merge-base", "--is-ancestor", base_sha, head_sha], git_dir=git_dir, check=False
    )
    if ancestor.returncode == 0:
        new_sha = head_sha  # fast-forward
    else:
        proc = run_git(
            ["merge-tree", "--write-tree", "--name-only", "--no-messages", base_sha, head_sha],
            git_dir=git_dir,
            check=False,
        )
        lines = proc.stdout.decode(errors="replace").splitlines()
        if proc.returncode != 0:
            conflicted = ", ".join(sorted(set(lines[1:]))) or "some files"
            raise PermanentProviderError(
                f"pull request #{number} conflicts with {record.base} in {conflicted}; "
                f"update {record.head} first",
                provider=PROVIDER,
            )
        message = f"Merge pull request #{number} from {record.head}\n\n{record.title}"
        new_sha = git_out(
            ["commit-tree", lines[0], "-p", base_sha, "-p", head_sha, "-m", message],
            git_dir=git_dir,
        )
    # Compare-and-swap: if the base moved since we read it, nothing is written.
    moved = run_git(
        ["update-ref", f"refs/heads/{record.base}", new_sha, base_sha], git_dir=git_dir, check=False
    )
    if moved.returncode != 0:
        raise PermanentProviderError(
            f"{record.base} changed while merging; try again", provider=PROVIDER
        )
    record.state = "merged"
    record.merged_at = _now()
    record.merged_by = merged_by
    record.merge_commit = new_sha
    record.base_sha, record.head_sha = base_sha, head_sha
    write(git_dir, record)
    return record


def _existing(git_dir: Path, number: int) -> PullRecord:
    record = read(git_dir, number)
    if record is None:
        raise PermanentProviderError(f"pull request #{number} does not exist", provider=PROVIDER)
    return record


def update(git_dir: Path, number: int, *, title: str, body: str) -> PullRecord:
    """New title and description. Call with the repository lock held."""
    record = _existing(git_dir, number)
    if not title.strip():
        raise PermanentProviderError("a pull request needs a title", provider=PROVIDER)
    record.title, record.body = title, body
    write(git_dir, record)
    return record


def close(git_dir: Path, number: int, *, closed_by: str) -> PullRecord:
    """Close an open pull request without merging (declined). Its branch stays. Call with the
    repository lock held."""
    record = _existing(git_dir, number)
    if not record.is_open:
        raise PermanentProviderError(
            f"pull request #{number} is already {record.state}", provider=PROVIDER
        )
    # The tips at closing, so the page still shows what was proposed after the branch moves.
    record.base_sha = resolve(git_dir, f"refs/heads/{record.base}")
    record.head_sha = resolve(git_dir, f"refs/heads/{record.head}") or resolve(
        git_dir, f"refs/pull/{number}/head"
    )
    record.state = "closed"
    record.closed_at = _now()
    record.closed_by = closed_by
    write(git_dir, record)
    return record
