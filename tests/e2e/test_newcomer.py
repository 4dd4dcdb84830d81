"""A newcomer's first hour in a real browser: a taken name is caught while typing in the wizard;
the bell counts a request that waits for the person's approval; "Undo what this run created"
on a failed golden-path run leaves no repository, GitOps file or catalog entry behind."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from catalog.ingestion import REPO
from catalog.models import Entity, Location
from infra import services as infra_services
from infra.presets import install_presets
from infra.validation import RequestSpec
from runs.models import ProvisionedResource, Run, RunStatus
from scaffolder.demo import load_builtin_templates
from scaffolder.models import TemplateVersion
from scaffolder.services import start_template_run
from tests.conftest import make_group, make_member
from tests.e2e.conftest import screenshot
from tests.scaffolder.test_golden_path_embedded import VALUES
from tests.scaffolder.test_template_runs import drive
from tests.scaffolder.test_undo import _gitops_files, _run_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def embedded(settings: Any, tmp_path: Path) -> Path:
    settings.PAVED_LOCAL_LOGIN = True
    settings.SOCIALACCOUNT_PROVIDERS = {}
    settings.PAVED_GIT_PROVIDER = "local"
    settings.PAVED_DEPLOY_PROVIDER = "gitops"
    settings.PAVED_CLUSTER_PROVIDER = "gitops"
    settings.PAVED_GIT_LOCAL_ROOT = tmp_path / "git"
    return tmp_path / "git"


def _sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("Hello"))).to_be_visible()


def test_a_taken_name_is_caught_while_typing(page: Page, live_server: Any, embedded: Path) -> None:
    orders = make_group("team-orders")
    make_member("carol", orders)
    load_builtin_templates()
    Entity.objects.create(kind="Component", name="orders-service", owner_ref=orders.ref)
    _sign_in(page, live_server.url, "carol")
    page.goto(f"{live_server.url}/create/default/python-service/")
    page.locator("#id_name").press_sequentially("orders-service", delay=20)
    expect(page.locator("#field-name-errors")).to_contain_text(
        "A service named orders-service already exists in the catalog"
    )
    screenshot(page, "newcomer-taken-name")
    page.locator("#id_name").fill("")
    page.locator("#id_name").press_sequentially("orders-service-2", delay=20)
    expect(page.locator("#field-name-errors")).to_be_empty()


def test_the_bell_counts_a_request_waiting_for_my_approval(
    page: Page, live_server: Any, embedded: Path
) -> None:
    install_presets()
    orders = make_group("team-orders")
    dana = make_member("dana", orders)
    make_member("pat", make_group("platform-team"), is_staff=True)
    Entity.objects.create(kind="Component", name="orders-service", owner_ref=orders.ref,
                          spec_type="service")  # fmt: skip
    _sign_in(page, live_server.url, "pat")
    bell = page.locator(".notifications-link .count")
    expect(bell).to_have_text("")
    infra_services.submit_request(spec=RequestSpec.from_document({
        "resourceClass": "postgresql", "name": "orders-db", "environment": "production",
        "component": "orders-service",
        "parameters": {"storageGB": 20, "tier": "standard", "region": "eu-west-1"}}), actor=dana)  # fmt: skip
    page.reload()
    expect(bell).to_have_text("1 unread")
    page.locator(".notifications-link").click()
    expect(page.locator("main")).to_contain_text("Waiting for your approval")
    screenshot(page, "newcomer-bell")


def test_undo_of_a_failed_run_leaves_nothing_behind(
    page: Page, live_server: Any, embedded: Path
) -> None:
    owner: User = make_member("carol", make_group("team-orders"))
    load_builtin_templates()
    version = TemplateVersion.objects.get(ref="template:default/python-service")
    run = start_template_run(version=version, values=VALUES, actor=owner)
    _run_until(run, stop_before="register")
    # Someone registers the same name meanwhile: the last step fails, half a service is left.
    other = Location.objects.create(type=REPO, target="team-payments/elsewhere")
    Entity.objects.create(kind="Component", name="orders-api", location=other,
                          owner_ref="group:default/team-payments")  # fmt: skip
    assert drive(run).status == RunStatus.FAILED
    assert (embedded / "team-orders" / "orders-api.git").exists()
    assert any("orders-api" in f for f in _gitops_files())

    _sign_in(page, live_server.url, "carol")
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    page.get_by_role("link", name="Undo what this run created").click()
    expect(page.get_by_test_id("undo-list")).to_contain_text(
        "the repository team-orders/orders-api"
    )
    page.get_by_label(re.compile("to confirm")).fill(run.title)
    page.get_by_role("button", name="Remove them").click()
    expect(page).to_have_url(re.compile(r"/runs/\d+/$"))
    undo = Run.objects.get(kind="undo")
    assert drive(undo).status == RunStatus.SUCCEEDED, undo.error
    page.reload()
    expect(page.get_by_test_id("run-status")).to_have_text("Succeeded")
    screenshot(page, "newcomer-undo-finished")

    assert not (embedded / "team-orders" / "orders-api.git").exists()
    assert [f for f in _gitops_files() if "orders-api" in f] == []
    assert not Entity.objects.filter(name="orders-api").exclude(location=other).exists()
    assert not ProvisionedResource.objects.filter(run=run).exists()


def test_service_day2_pages_fit_a_phone(page: Page, live_server: Any, embedded: Path) -> None:
    """The Environments tab and the decommission page at 390 px: no sideways scroll, and the
    decommission button asks for the name before anything happens."""
    from portal.providers import git_host
    from runs.authority import reserve
    from runs.runner import StepSpec, start_run

    orders = make_group("team-orders")
    owner = make_member("carol", orders)
    repo, _ = git_host().ensure_repository("team-orders", "orders-api")
    git_host().commit_files(repo, {"README.md": b"hi\n"}, message="init")
    created = start_run(kind="scaffolder", title="Create orders-api", actor=owner,
                        owner_ref=orders.ref,
                        steps=[StepSpec(key="s", kind="debug:log", inputs={"message": "x"})])  # fmt: skip
    reserve(kind="application", key="dev/orders-api-dev", owner_ref=orders.ref, run=created,
            step_key="argocd")  # fmt: skip
    Entity.objects.create(kind="Component", name="orders-api-with-a-rather-long-name-for-phones",
                          owner_ref=orders.ref, spec_type="service",
                          metadata={"annotations": {
                              "localhost/project-slug": "team-orders/orders-api"}})  # fmt: skip
    page.set_viewport_size({"width": 390, "height": 844})
    _sign_in(page, live_server.url, "carol")
    page.goto(f"{live_server.url}/catalog/default/component/"
              "orders-api-with-a-rather-long-name-for-phones/?tab=environments")  # fmt: skip
    expect(page.get_by_label("Add an environment")).to_be_visible()
    _no_sideways_scroll(page)
    screenshot(page, "newcomer-environments-phone")
    page.get_by_role("link", name="Decommission…").click()
    expect(page.get_by_test_id("decommission-plan")).to_contain_text("retire")
    _no_sideways_scroll(page)
    screenshot(page, "newcomer-decommission-phone")
    page.get_by_role("button", name=re.compile("^Decommission")).click()  # empty: the browser asks
    expect(page.get_by_test_id("decommission-plan")).to_be_visible()
    assert not Run.objects.filter(kind="day2").exists()


def _no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px"
