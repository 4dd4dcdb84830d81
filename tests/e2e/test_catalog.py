"""The catalog in a real browser: results update as you type (HTMX, URL keeps the filters),
the relations graph links to entities, and the back button restores the list."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.catalog.helpers import component, ingest_docs
from tests.conftest import make_group, make_member
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def signed_in(page: Page, live_server: Any, settings: Any, tmp_path: Path) -> Page:
    settings.PAVED_LOCAL_LOGIN = True
    settings.SOCIALACCOUNT_PROVIDERS = {}
    make_member("carol", make_group("team-orders"), first_name="Carol")
    ingest_docs(tmp_path, [
        component("orders", providesApis=["orders-api"], dependsOn=["component:ghost"]),
        component("payments", owner="team-payments"),
        component("shipping"),
    ])  # fmt: skip
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username or e-mail").fill("carol")
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Carol")).to_be_visible()
    return page


def test_search_as_you_type_and_graph(signed_in: Page, live_server: Any) -> None:
    page = signed_in
    page.goto(f"{live_server.url}/catalog/?kind=Component")
    results = page.locator("#results")
    expect(results).to_contain_text("3 entities")
    page.get_by_label("Search the catalog").press_sequentially("paym", delay=40)
    expect(results).to_contain_text("1 entity")
    expect(results.get_by_role("link", name="payments", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"q=paym"))
    screenshot(page, "catalog-search")
    page.goto(f"{live_server.url}/catalog/default/component/orders/?tab=relations")
    graph = page.locator("svg.entity-graph")
    expect(graph).to_be_visible()
    expect(graph.locator(".node.missing", has_text="ghost")).to_be_visible()
    graph.locator("a", has_text="team-orders").click()
    expect(page).to_have_url(re.compile(r"/catalog/default/group/team-orders/"))
    expect(page.get_by_role("heading", name="Members")).to_be_visible()
    screenshot(page, "catalog-graph-click")
