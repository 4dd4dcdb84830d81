"""Three-way merge of file trees with real git: the old rendering is the base commit, the
repository as the team changed it is "ours", the new rendering is "theirs"."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from scaffolder.workspace import safe_join, workspace_files

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Paved",
    "GIT_AUTHOR_EMAIL": "paved@localhost",
    "GIT_COMMITTER_NAME": "Paved",
    "GIT_COMMITTER_EMAIL": "paved@localhost",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_TERMINAL_PROMPT": "0",
    "HOME": "/nonexistent",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LC_ALL": "C",
}


@dataclass
class MergeResult:
    """The merged tree, and what needs a person's eyes."""

    files: dict[str, bytes]
    conflicts: list[str] = field(default_factory=list)  # committed with conflict markers
    # Paths the template removed but the team changed: kept, and listed with the conflicts.
    kept: list[str] = field(default_factory=list)


def _git(folder: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "core.autocrlf=false", "-c", "merge.renames=false", *args],
        cwd=folder,
        env=_GIT_ENV,
        capture_output=True,
        text=True,
        check=check,
    )


def _write_tree(folder: Path, files: dict[str, bytes]) -> None:
    _git(folder, "rm", "-r", "-q", "--cached", "--ignore-unmatch", ".")
    for path in workspace_files(folder):
        (folder / path).unlink()
    for path, data in files.items():
        target = safe_join(folder, path, what="file")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    _git(folder, "add", "-A", ".")


def _commit(folder: Path, message: str) -> None:
    _git(folder, "commit", "-q", "--allow-empty", "--no-verify", "-m", message)


def three_way_merge(
    base: dict[str, bytes], ours: dict[str, bytes], theirs: dict[str, bytes]
) -> MergeResult:
    """Merge the change base→theirs into ours. Conflicting edits keep git's markers; a file
    the team deleted stays deleted; a file the template deleted is deleted unless the team
    changed it (then it is kept and listed)."""
    with tempfile.TemporaryDirectory(prefix="paved-merge-") as name:
        folder = Path(name)
        _git(folder, "init", "-q", "-b", "base")
        _write_tree(folder, base)
        _commit(folder, "template, old version")
        _git(folder, "checkout", "-q", "-b", "theirs")
        _write_tree(folder, theirs)
        _commit(folder, "template, new version")
        _git(folder, "checkout", "-q", "-f", "base")
        _git(folder, "checkout", "-q", "-b", "ours")
        _write_tree(folder, ours)
        _commit(folder, "repository")
        merged = _git(folder, "merge", "--no-ff", "--no-edit", "theirs", check=False)
        result = MergeResult(files={})
        if merged.returncode != 0:
            _resolve(folder, result)
            _commit(folder, "upgrade")
        result.files = workspace_files(folder)
        return result


def _resolve(folder: Path, result: MergeResult) -> None:
    """Settle each unmerged path by the rules above, then stage everything."""
    stages: dict[str, set[str]] = {}
    listing = _git(folder, "ls-files", "-u", "-z").stdout
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        stages.setdefault(path, set()).add(meta.split()[2])
    for path, present in sorted(stages.items()):
        if "2" not in present:  # the team deleted it: it stays deleted
            _git(folder, "rm", "-q", "--cached", "--ignore-unmatch", "--", path)
            (folder / path).unlink(missing_ok=True)
        elif "3" not in present:  # the template deleted it, the team changed it: keep the team's
            _git(folder, "add", "--", path)
            result.kept.append(path)
        else:
            _git(folder, "add", "--", path)
            result.conflicts.append(path)
