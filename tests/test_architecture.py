"""Imports flow one way: portal <- catalog <- runs <- {scaffolder, infra} <- metrics
(docs/architecture.md).

An app imports only the layers below it; scaffolder and infra are siblings on one layer and never
import each other; `portal.providers` imports no domain app. Function-level and TYPE_CHECKING
imports count too: a cycle hidden in a function is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Bottom to top; apps on one layer are siblings.
LAYERS: list[tuple[str, ...]] = [
    ("portal",),
    ("catalog",),
    ("runs",),
    ("scaffolder", "infra"),
    ("metrics",),
]
APPS = [app for layer in LAYERS for app in layer]


def allowed_imports(app: str) -> set[str]:
    """The app itself and every app on a lower layer."""
    level = next(index for index, layer in enumerate(LAYERS) if app in layer)
    return {app} | {other for layer in LAYERS[:level] for other in layer}


def imported_apps(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module.split(".")[0]))
    return [(line, top) for line, top in found if top in APPS]


def _python_files(app: str) -> list[Path]:
    return sorted(p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("app", APPS)
def test_apps_import_only_lower_layers(app: str) -> None:
    allowed = allowed_imports(app)
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {top}"
        for path in _python_files(app)
        for line, top in imported_apps(path)
        if top not in allowed
    ]
    assert not wrong, "imports against the dependency direction:\n" + "\n".join(wrong)


def test_providers_import_no_domain_app() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {top}"
        for path in sorted((ROOT / "portal" / "providers").rglob("*.py"))
        for line, top in imported_apps(path)
        if top != "portal"
    ]
    assert not wrong, "\n".join(wrong)


def test_checker_sees_function_level_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from metrics.models import X\n    import catalog.services\n")
    assert imported_apps(module) == [(2, "metrics"), (3, "catalog")]


def test_layers_are_the_documented_ones() -> None:
    assert allowed_imports("runs") == {"portal", "catalog", "runs"}
    # Siblings: neither scaffolder nor infra may import the other.
    assert "infra" not in allowed_imports("scaffolder")
    assert "scaffolder" not in allowed_imports("infra")
    assert allowed_imports("metrics") == set(APPS)


def test_every_app_is_in_a_layer() -> None:
    from django.conf import settings

    ours = [app for app in settings.INSTALLED_APPS if (ROOT / app / "apps.py").exists()]
    assert sorted(ours) == sorted(APPS)
