"""Template upgrades in a real browser: the template page shows the rollout, the component
page offers the upgrade, the preview shows the diff, and opening the PR starts the run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from catalog.models import Entity
from tests.conftest import make_group, make_member
from tests.e2e.conftest import screenshot
from tests.scaffolder.providers import register_test_providers, unregister_test_providers
from tests.scaffolder.upgrade_helpers import VERSION_A, VERSION_B, scaffold, write_template

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def service(settings: Any, tmp_path: Path) -> Any:
    settings.PAVED_LOCAL_LOGIN = True
    settings.SOCIALACCOUNT_PROVIDERS = {}
    settings.PAVED_GIT_PROVIDER = "local"
    settings.PAVED_GIT_LOCAL_ROOT = tmp_path / "git"
    register_test_providers()
    carol = make_member("carol", make_group("team-orders"), first_name="Carol")
    version_a = write_template(tmp_path / "tpl", VERSION_A)
    provenance = scaffold(version_a, carol, "orders-api")
    Entity.objects.create(kind="Component", name="orders-api", owner_ref="group:default/team-orders",
                          metadata={"annotations": {"localhost/project-slug": "team-orders/orders-api"}})  # fmt: skip
    write_template(tmp_path / "tpl", VERSION_B)
    yield provenance
    unregister_test_providers()


def test_rollout_component_offer_and_diff_preview(
    page: Page, live_server: Any, service: Any
) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username or e-mail").fill("carol")
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Carol")).to_be_visible()

    page.goto(f"{live_server.url}/catalog/default/template/tiny-service/?tab=rollout")
    rollout = page.get_by_test_id("template-rollout")
    expect(rollout).to_contain_text("team-orders/orders-api")
    expect(rollout.get_by_test_id("rollout-row")).to_contain_text("Behind")
    screenshot(page, "upgrades-template-rollout")

    page.goto(f"{live_server.url}/catalog/default/component/orders-api/?tab=template")
    card = page.get_by_test_id("component-template")
    expect(card).to_contain_text("Made from tiny-service v1")
    expect(card).to_contain_text("v2 available")
    card.get_by_role("link", name="Preview the diff").click()
    diff = page.get_by_test_id("upgrade-diff")
    expect(diff).to_contain_text("+VERSION = 2")
    expect(diff).to_contain_text("-VERSION = 1")
    screenshot(page, "upgrades-preview")
    page.get_by_role("button", name="Open the upgrade PR").click()
    expect(page).to_have_url(re.compile(r"/runs/\d+/"))
    expect(page.get_by_text("Merge the new template version").first).to_be_visible()


def test_the_team_declines_the_upgrade_pr_and_opens_a_new_one_later(
    page: Page, live_server: Any, service: Any
) -> None:
    from runs.models import Run
    from scaffolder.models import TemplateUpgrade
    from scaffolder.upgrades.services import refresh_pull_request_states
    from tests.scaffolder.upgrade_helpers import drive

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username or e-mail").fill("carol")
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Carol")).to_be_visible()
    tab = f"{live_server.url}/catalog/default/component/orders-api/?tab=template"
    page.goto(tab)
    page.get_by_role("button", name="Open the upgrade PR").click()
    expect(page).to_have_url(re.compile(r"/runs/\d+/"))
    drive(Run.objects.get(kind="upgrade"))  # the worker's part, in this process

    page.goto(tab)
    expect(page.get_by_test_id("component-template")).to_contain_text("pull request #1")
    # The link names PAVED_BASE_URL; the test server listens elsewhere.
    page.goto(f"{live_server.url}/git/team-orders/orders-api/pulls/1/")
    page.get_by_role("button", name="Close without merging").click()
    expect(page.get_by_test_id("pull-state")).to_have_text("closed")
    expect(page.get_by_text("not merged")).to_be_visible()
    refresh_pull_request_states()  # the beat job

    page.goto(tab)
    card = page.get_by_test_id("component-template")
    expect(card).to_contain_text("Upgrade to v2: Declined")
    screenshot(page, "upgrades-declined")
    card.get_by_role("button", name="Open a new upgrade PR").click()
    expect(page).to_have_url(re.compile(r"/runs/\d+/"))
    upgrade = TemplateUpgrade.objects.get()
    drive(Run.objects.get(pk=upgrade.run_pk))
    page.goto(tab)
    expect(page.get_by_test_id("component-template")).to_contain_text("pull request #2")
