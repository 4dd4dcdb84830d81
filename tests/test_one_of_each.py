"""One of each: annotation keys live in portal/annotations.py, Retry-After is parsed in one place,
and no code memoizes a user's teams on the user object."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ("portal", "catalog", "runs", "scaffolder", "infra", "metrics")

_KEY = re.compile(
    r"""["'](?:[a-z0-9.-]*(?:pagerduty\.com|opsgenie\.com|argocd|paved\.dev|github\.com)"""
    r"""|backstage\.io)/(?!v1)[a-z][a-z0-9-]*["']|["']/project-slug["']"""
)


def _sources() -> list[Path]:
    return [
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and "templates_builtin" not in path.parts
    ]


def _code_lines(path: Path) -> list[tuple[int, str]]:
    return [
        (n, line)
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if not line.lstrip().startswith("#")
    ]


def test_annotation_keys_are_named_only_in_the_annotations_module() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in _sources()
        if path != ROOT / "portal" / "annotations.py"
        for n, line in _code_lines(path)
        if _KEY.search(line)
    ]
    assert found == []


def test_retry_after_is_parsed_in_one_place() -> None:
    readers = sorted(
        str(path.relative_to(ROOT))
        for path in _sources()
        if re.search(r"Retry-After.{0,40}(isdigit|float\()", path.read_text())
    )
    assert readers == []


def test_no_memo_of_group_refs_on_the_user_object() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _sources()
        if re.search(r"user\._paved_\w+\s*=", path.read_text())
    ]
    assert offenders == []
