"""The portal shell in a real browser: sign in, home page, global search, docs; phone width."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.conftest import make_group, make_member
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

PHONE: ViewportSize = {"width": 390, "height": 844}
LAPTOP: ViewportSize = {"width": 1280, "height": 800}


@pytest.fixture
def signed_in(page: Page, live_server: Any, settings: Any) -> Page:
    settings.PAVED_LOCAL_LOGIN = True
    settings.SOCIALACCOUNT_PROVIDERS = {}
    make_member("carol", make_group("team-orders"), first_name="Carol")
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.get_by_label("Username or e-mail").fill("carol")
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Carol")).to_be_visible()
    return page


def test_sign_in_home_search_docs(signed_in: Page, live_server: Any) -> None:
    page = signed_in
    page.set_viewport_size(LAPTOP)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Docs")).to_be_visible()
    expect(page.locator(".usermenu")).to_contain_text("Carol")
    screenshot(page, "home-laptop")

    # Global search from the top bar ("/" jumps there); Enter submits, no JavaScript needed.
    expect(page.locator("#home-start")).to_contain_text("Read the docs")
    page.keyboard.press("/")
    box = page.get_by_role("searchbox", name="Search Paved")
    expect(box).to_be_focused()
    page.keyboard.type("operating")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=operating"))
    expect(page.get_by_role("heading", name="Search", exact=True)).to_be_visible()
    results = page.locator("#search-results")
    expect(results).to_contain_text("Operating Paved")
    expect(box).to_have_value("operating")  # the top bar keeps the query, readable
    color = box.evaluate("el => getComputedStyle(el).color")
    background = box.evaluate("el => getComputedStyle(el).backgroundColor")
    assert color != background
    screenshot(page, "search-laptop")
    results.get_by_role("link", name="Operating Paved").click()
    expect(page.get_by_role("heading", name="Operating Paved", level=1)).to_be_visible()

    # Docs from the navigation.
    nav.get_by_role("link", name="Docs").click()
    expect(page.get_by_role("navigation", name="Documentation")).to_be_visible()
    page.get_by_role("navigation", name="Documentation").get_by_role(
        "link", name="Configuration"
    ).click()
    expect(page.get_by_role("heading", name="Configuration", level=1)).to_be_visible()
    screenshot(page, "docs-laptop")


def _no_horizontal_scroll(page: Page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px"


def test_readable_on_a_phone(signed_in: Page, live_server: Any, settings: Any) -> None:
    page = signed_in
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/")
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Catalog", "Create", "Runs", "Infrastructure", "Metrics", "Docs"):
        # All six fit on a phone's width: nothing hides behind a sideways scroll.
        expect(nav.get_by_role("link", name=name)).to_be_in_viewport(ratio=1)
    _no_horizontal_scroll(page)
    expect(page.get_by_role("searchbox", name="Search Paved")).to_be_visible()
    expect(page.locator(".usermenu summary")).to_be_visible()
    screenshot(page, "home-phone")
    page.locator(".usermenu summary").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_in_viewport(ratio=1)
    screenshot(page, "usermenu-phone", full_page=False)
    page.set_viewport_size(LAPTOP)
    screenshot(page, "home-laptop-full-nav", full_page=False)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/docs/configuration/")
    _no_horizontal_scroll(page)
    screenshot(page, "docs-phone", full_page=False)
    page.locator("table").first.scroll_into_view_if_needed()
    _no_horizontal_scroll(page)
    screenshot(page, "docs-phone-table", full_page=False)
    page.goto(f"{live_server.url}/search/?q=run")
    _no_horizontal_scroll(page)
    screenshot(page, "search-phone")


def test_sign_out_from_the_user_menu(signed_in: Page, live_server: Any) -> None:
    page = signed_in
    page.locator(".usermenu summary").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/|/$"))
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_toast_shows_and_fades(signed_in: Page, live_server: Any) -> None:
    page = signed_in
    # Signing in leaves a success message, shown as a toast that fades away by itself.
    toast = page.locator("#toasts .toast")
    page.goto(f"{live_server.url}/accounts/logout/")
    page.get_by_role("button", name="Sign out").click()
    expect(toast.first).to_be_visible()
    expect(toast).to_have_count(0, timeout=8000)


def test_sign_in_page_with_sso_and_password(page: Page, live_server: Any, settings: Any) -> None:
    settings.PAVED_LOCAL_LOGIN = True
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "Acme SSO",
                    "client_id": "paved",
                    "secret": "x",
                    "settings": {"server_url": "http://127.0.0.1:9/"},
                }
            ]
        },
        "github": {"APPS": [{"client_id": "gh", "secret": "y"}]},
    }
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("button", name="Sign in with Acme SSO")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in with GitHub")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    _no_horizontal_scroll(page)
    screenshot(page, "login-phone", full_page=False)
    page.set_viewport_size(LAPTOP)
    screenshot(page, "login-laptop", full_page=False)
