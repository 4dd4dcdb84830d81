"""Per-run workspaces and path safety for the file actions.

A run's workspace lives at PAVED_DATA_DIR/workspaces/<run id>-<created> and survives retries, so
steps can be repeated; it is removed once the run succeeds. Failed and cancelled runs keep theirs
for PAVED_WORKSPACE_RETENTION_HOURS (so "Retry" finds what earlier steps wrote); the beat job
`collect_workspaces` removes older ones, and folders no run owns. Every path that comes from a
template (after rendering) goes through `safe_join`, which refuses absolute paths, `..` and
symlinks that lead outside the workspace.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
import uuid
from datetime import timedelta
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.utils import timezone

from runs.models import TERMINAL_RUN_STATUSES, Run

logger = logging.getLogger(__name__)
_FOLDER = re.compile(r"^(\d+)-\d{20}$")
TRASH = ".trash"  # removed workspaces waiting to be deleted (see remove_workspace)

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


def remove_workspace(run: Run, *, later: bool = False) -> None:
    """Delete the run's workspace. With `later`, only rename it into the trash folder (one
    cheap syscall, so finishing a run does not wait for deleting thousands of files); the
    `scaffolder.empty_workspace_trash` task and the beat job delete it."""
    path = workspace_root() / _folder_name(run)
    if later:
        trash = workspace_root() / TRASH
        try:
            trash.mkdir(exist_ok=True)
            os.rename(path, trash / f"{path.name}-{uuid.uuid4().hex[:8]}")
            return
        except FileNotFoundError:
            return
        except OSError:
            pass  # e.g. another filesystem: delete it now instead
    shutil.rmtree(path, ignore_errors=True)


def empty_trash() -> int:
    """Delete what `remove_workspace(later=True)` moved aside. Returns how many folders."""
    trash = workspace_root() / TRASH
    if not trash.is_dir():
        return 0
    count = 0
    for path in trash.iterdir():
        shutil.rmtree(path, ignore_errors=True)
        count += 1
    return count


def collect_workspaces(*, now: float | None = None) -> list[str]:
    """Remove the workspaces of runs that finished more than the retention ago, and folders that
    belong to no run (a deleted run, or another database's ids) once they are that old.
    Returns the removed folder names. Active runs' workspaces are never touched."""
    root = workspace_root()
    if not root.is_dir():
        return []
    empty_trash()
    retention = timedelta(hours=settings.PAVED_WORKSPACE_RETENTION_HOURS)
    cutoff = timezone.now() - retention
    wall_cutoff = (now if now is not None else time.time()) - retention.total_seconds()
    folders: dict[int, list[Path]] = {}
    for path in root.iterdir():
        match = _FOLDER.match(path.name)
        if match and path.is_dir() and not path.is_symlink():
            folders.setdefault(int(match.group(1)), []).append(path)
    # One query, however many folders there are.
    runs = {
        run.pk: run
        for run in Run.objects.filter(pk__in=list(folders)).only(
            "pk", "status", "created_at", "finished_at"
        )
    }
    removed: list[str] = []
    for pk, paths in folders.items():
        run = runs.get(pk)
        for path in paths:
            if run is not None and path.name == _folder_name(run):
                expired = (
                    run.status in TERMINAL_RUN_STATUSES
                    and run.finished_at is not None
                    and run.finished_at < cutoff
                )
            else:  # no run owns this folder: judge it by its age on disk
                expired = path.stat().st_mtime < wall_cutoff
            if expired:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
    if removed:
        logger.info("removed %d old run workspace(s)", len(removed))
    return removed


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
