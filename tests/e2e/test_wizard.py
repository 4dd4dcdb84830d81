"""The golden path in a real browser: pick the template, get as-you-type errors, fill both pages,
review, Create, and watch the run finish on a real worker with its output links."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from scaffolder.demo import load_builtin_templates
from tests.conftest import make_group, make_member
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_env(worker_env: dict[str, str], settings: Any) -> dict[str, str]:
    return {**worker_env, "PAVED_GIT_LOCAL_ROOT": str(settings.PAVED_GIT_LOCAL_ROOT)}


def test_create_a_service_from_the_golden_path(
    page: Page, live_server: Any, settings: Any, celery_worker: Any
) -> None:
    settings.PAVED_LOCAL_LOGIN = True
    settings.SOCIALACCOUNT_PROVIDERS = {}
    make_member("carol", make_group("team-orders"), first_name="Carol")
    load_builtin_templates()
    name = f"e2e-{uuid.uuid4().hex[:8]}"

    page.goto(f"{live_server.url}/create/")
    page.get_by_label("Username or e-mail").fill("carol")
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Create something new")).to_be_visible()
    page.locator("#template-default-python-service").get_by_role("link", name="Choose").click()

    # As-you-type validation: the server's message appears under the field, then goes away.
    field = page.locator("#id_name")
    field.press_sequentially("Bad Name", delay=20)
    expect(page.locator("#field-name-errors")).to_contain_text("“bad-name” would do")
    field.fill("")
    field.press_sequentially(name, delay=20)
    expect(page.locator("#field-name-errors")).to_be_empty()
    # The owner is an autocomplete on the catalog: a value not in it is refused by the server;
    # typing shows matching options, the keyboard picks one.
    owner = page.get_by_role("combobox", name=re.compile("Owning team"))
    expect(owner).to_have_value("group:default/team-orders")  # her own team, pre-filled
    owner.fill("no-such-team")
    owner.press("Tab")
    expect(page.locator("#field-owner-errors")).to_contain_text("is not in the catalog")
    owner.fill("")
    owner.press_sequentially("orders", delay=20)
    listbox = page.get_by_role("listbox", name="Owning team")
    expect(listbox).to_be_visible()
    expect(listbox.get_by_role("option")).to_have_count(1)
    expect(listbox.get_by_role("option")).to_contain_text("group:default/team-orders")
    owner.press("ArrowDown")
    expect(owner).to_have_attribute("aria-activedescendant", "id_owner__opt-0")
    owner.press("Enter")
    expect(owner).to_have_value("group:default/team-orders")
    expect(listbox).to_be_hidden()
    expect(page.locator("#field-owner-errors")).to_be_empty()
    page.get_by_role("button", name="Next →").click()

    expect(page.get_by_role("heading", name="Repository and deployment")).to_be_visible()
    page.locator("#id_repoUrl__owner").fill("team-orders")
    page.locator("#id_repoUrl__repo").fill(name)
    page.get_by_role("button", name="Review").click()

    expect(page.get_by_role("heading", name="Review")).to_be_visible()
    expect(page.locator("#wizard")).to_contain_text(f"team-orders/{name} on ")
    screenshot(page, "wizard-review")
    page.get_by_role("button", name="Create").click()

    expect(page).to_have_url(re.compile(r"/runs/\d+/$"))
    expect(page.get_by_role("link", name="Repository")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("link", name="Open in catalog")).to_be_visible()
    screenshot(page, "wizard-run-finished")
