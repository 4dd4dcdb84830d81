"""Per-run workspaces and path safety for the file actions.

A run's workspace lives at PAVED_DATA_DIR/workspaces/<run id>-<created> and survives retries, so
steps can be repeated; it is removed once the run succeeds. Every path that comes from a template (after rendering) goes through `safe_join`,
which refuses absolute paths, `..` and symlinks that lead outside the workspace.
"""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

from django.conf import settings

from scaffolder.models import Run

MAX_WORKSPACE_FILES = 5000
MAX_FILE_BYTES = 5 * 1024 * 1024


class UnsafePath(ValueError):
    """A rendered path would leave the workspace (or the template folder)."""


def workspace_root() -> Path:
    return Path(settings.PAVED_DATA_DIR) / "workspaces"


def _folder_name(run: Run) -> str:
    # The creation time makes the folder unique even if ids restart (a database restored or
    # recreated next to an old data directory), so a run never sees another run's files.
    return f"{run.pk}-{run.created_at:%Y%m%d%H%M%S%f}"


def workspace_path(run: Run) -> Path:
    return workspace_root() / _folder_name(run)


def workspace_for_run(run: Run) -> Path:
    """The run's workspace, created if needed."""
    path = workspace_path(run)
    path.mkdir(parents=True, exist_ok=True)
    return path


def remove_workspace(run: Run) -> None:
    shutil.rmtree(workspace_root() / _folder_name(run), ignore_errors=True)


def safe_join(root: Path, relative: str, *, what: str = "path") -> Path:
    """`root / relative`, refusing anything that escapes `root` (also through symlinks)."""
    text = str(relative or ".").replace("\\", "/")
    if "\x00" in text:
        raise UnsafePath(f"{what} {relative!r} contains a NUL byte")
    pure = PurePosixPath(text)
    if pure.is_absolute() or (len(text) > 1 and text[1] == ":"):
        raise UnsafePath(f"{what} {relative!r} is absolute; use a path inside the workspace")
    if ".." in pure.parts:
        raise UnsafePath(f"{what} {relative!r} goes up with '..'; stay inside the workspace")
    root_resolved = root.resolve()
    candidate = root_resolved.joinpath(*pure.parts) if pure.parts else root_resolved
    resolved = candidate.resolve()
    if resolved != root_resolved and root_resolved not in resolved.parents:
        raise UnsafePath(f"{what} {relative!r} leads outside the workspace (through a symlink)")
    return candidate


def workspace_files(root: Path) -> dict[str, bytes]:
    """Every regular file under `root` (not following symlinks), as posix path -> bytes."""
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        if rel.startswith(".git/") or rel == ".git":
            continue
        if len(files) >= MAX_WORKSPACE_FILES:
            raise ValueError(f"the workspace has more than {MAX_WORKSPACE_FILES} files")
        files[rel] = path.read_bytes()
    return files
