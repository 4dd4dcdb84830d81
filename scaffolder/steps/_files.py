"""Helpers shared by the file actions: where a template's files are, and glob matching."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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


def resolve_source(ctx: StepContext, url: str) -> Path:
    """A step's `url`, relative to the template's folder. Remote URLs are refused clearly."""
    if "://" in url:
        scheme = url.split("://", 1)[0]
        if scheme == "file":
            raise PermanentProviderError(
                f"url {url!r}: file:// URLs are not allowed; use a path relative to the template"
            )
        raise PermanentProviderError(
            f"url {url!r}: fetching from remote URLs is not supported; keep the skeleton next to the template"
        )
    base = template_base_dir(ctx)
    try:
        source = safe_join(base, url, what="url")
    except UnsafePath as exc:
        raise PermanentProviderError(str(exc).replace("workspace", "template folder")) from None
    if not source.exists():
        raise PermanentProviderError(
            f"url {url!r}: {source.relative_to(base.resolve()) if source.is_relative_to(base.resolve()) else source} does not exist in the template folder"
        )
    return source


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
