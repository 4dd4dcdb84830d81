"""Browser tests: Playwright driving Debian's chromium (never `playwright install`)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run there
# unless told that this is fine (the live server and the test share the database).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

RESULTS = Path(__file__).resolve().parents[2] / "test-results"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    executable = os.environ.get("PAVED_CHROMIUM") or shutil.which("chromium")
    if not executable:
        pytest.fail("chromium is missing: `make chromium` (apt-get install chromium) installs it")
    return {
        **browser_type_launch_args,
        "executable_path": executable,
        "headless": True,
        "args": CHROMIUM_FLAGS,
    }


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot to test-results/ (kept by CI; look at them when changing the layout)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{re.sub(r'[^\w.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture
def page(page: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """pytest-playwright's page, plus a screenshot in test-results/ when the test failed."""
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        screenshot(page, f"FAILED-{request.node.name}")
