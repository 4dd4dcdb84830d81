"""Helpers shared by the file actions: where a template's files are, and glob matching."""

from __future__ import annotations

import posixpath
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings

from portal.providers.base import PermanentProviderError
from runs.context import StepContext
from runs.workspace import UnsafePath, safe_join


def template_base_dir(ctx: StepContext) -> Path:
    base = ((ctx.run.context or {}).get("template") or {}).get("base_dir")
    if not base:
        raise PermanentProviderError(
            "this template has no folder on the server, so relative URLs like ./skeleton "
            "cannot be resolved; load the template from a file or the catalog"
        )
    return Path(base)


# Where template versions' own copies of their files live (scaffolder/upgrades/snapshots.py).
SNAPSHOTS_FOLDER = "template-snapshots"


def template_root(base: Path) -> Path:
    """The folder tree a template came from: the git work tree holding its folder, or the
    folder itself when it is in no repository. `..` in a url may go up to here, never above.
    A template rendered from Paved's own copy (a version snapshot in the data folder) is that
    copy's folder: never the data folder, nor a checkout the data folder sits in."""
    base = base.resolve()
    data_dir = Path(settings.PAVED_DATA_DIR).resolve()
    if data_dir in base.parents:
        snapshots = data_dir / SNAPSHOTS_FOLDER
        return next((f for f in (base, *base.parents) if f.parent == snapshots), base)
    for folder in (base, *base.parents):
        if (folder / ".git").exists():
            return folder
    return base


def _refuse_data_dir(url: str, source: Path, root: Path) -> None:
    # Paved's own data (secret key, other runs' workspaces) may sit inside a checkout. A
    # snapshot's own files are in the data folder and are read (within the snapshot only).
    data_dir = Path(settings.PAVED_DATA_DIR).resolve()
    if data_dir in root.parents:
        return
    if source == data_dir or data_dir in source.parents:
        raise PermanentProviderError(
            f"url {url!r} leads into Paved's data folder; it cannot be read"
        )


def resolve_local(base: Path, url: str) -> Path:
    """`url` relative to the template's folder `base`, as Backstage resolves it: `..` may go
    up within the repository (or folder tree) the template came from, never outside it."""
    text = url.replace("\\", "/")
    if "\x00" in text:
        raise PermanentProviderError(f"url {url!r} contains a NUL byte")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise PermanentProviderError(
            f"url {url!r} is absolute; use a path relative to the template"
        )
    root = template_root(base)
    lexical = Path(posixpath.normpath(posixpath.join(base.resolve().as_posix(), text)))
    source = lexical.resolve()  # symlinks followed: their target must stay inside too
    for path in (lexical, source):
        if path != root and root not in path.parents:
            raise PermanentProviderError(
                f"url {url!r} leads outside the repository the template came from ({root.name}/); "
                "a template may only read files from its own repository"
            )
    _refuse_data_dir(url, source, root)
    if not source.exists():
        shown = source.relative_to(root).as_posix()
        raise PermanentProviderError(
            f"url {url!r}: {shown} does not exist in the template's repository"
        )
    return source


@contextmanager
def resolve_source(ctx: StepContext, url: str) -> Iterator[Path]:
    """A step's `url`: relative to the template's folder, or a remote URL read through a
    configured git integration into a temporary folder (removed when the block ends)."""
    if "://" not in url:
        yield resolve_local(template_base_dir(ctx), url)
        return
    if url.split("://", 1)[0] == "file":
        raise PermanentProviderError(
            f"url {url!r}: file:// URLs are not allowed; use a path relative to the template"
        )
    from scaffolder.steps.remote import fetch_remote

    with tempfile.TemporaryDirectory(prefix="paved-remote-") as folder:
        yield fetch_remote(ctx, url, Path(folder))


def target_dir(ctx: StepContext, target_path: Any) -> Path:
    if ctx.workspace is None:
        raise PermanentProviderError("the run has no workspace")
    try:
        return safe_join(Path(ctx.workspace), str(target_path or "."), what="targetPath")
    except UnsafePath as exc:
        raise PermanentProviderError(str(exc)) from None


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regex on posix paths: `**` spans folders, `*` and `?` stay within one, and
    both match dotfiles (Backstage's minimatch runs with `dot: true`)."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def matches_any(path: str, patterns: list[str]) -> bool:
    """Does `path` match one of the globs (or lie inside a folder one of them names)?"""
    for pattern in patterns:
        pattern = pattern.removeprefix("./")
        if glob_regex(pattern).match(path) or glob_regex(pattern.rstrip("/") + "/**").match(path):
            return True
    return False


# Tool caches that appear in a skeleton folder when someone lints or tests it in place.
IGNORED_PARTS = frozenset(
    {"__pycache__", ".ruff_cache", ".pytest_cache", ".mypy_cache", ".DS_Store"}
)


def source_files(root: Path) -> list[tuple[str, Path]]:
    """Regular files under `root` (symlinks are skipped: they could point anywhere)."""
    files = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        if IGNORED_PARTS.intersection(path.relative_to(root).parts):
            continue
        files.append((path.relative_to(root).as_posix(), path))
    return files
