"""In a real browser: the request form's live preview (HTMX) shows the claim and the cost, and
submitting creates the request. Drives Debian's chromium (see STYLE §0.5)."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest
from django.contrib.auth.models import User

from catalog.models import Entity

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    executable = os.environ.get("PAVED_CHROMIUM") or shutil.which("chromium")
    if not executable:
        pytest.skip("chromium is not installed")
    return {
        **browser_type_launch_args,
        "executable_path": executable,
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    }


def test_live_preview_then_submit(
    page: Any, live_server: Any, owner: User, orders_service: Entity, settings: Any
) -> None:
    settings.PAVED_LOCAL_LOGIN = True
    from django.test import Client

    client = Client()
    client.force_login(owner)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/infra/new/?resource_class=postgresql")
    page.select_option("#id_component", "component:default/orders-service")
    page.fill("#id_name", "orders-db")
    page.fill("#id_namespace", "orders-service")
    page.fill("#id_param_storageGB", "20")
    page.select_option("#id_param_region", "eu-west-1")
    page.locator("#id_param_storageGB").dispatch_event("change")
    claim = page.get_by_test_id("claim-yaml")
    claim.wait_for(timeout=10000)
    assert "kind: PostgreSQLInstance" in claim.inner_text()
    assert "$17.30 / month" in page.get_by_test_id("cost-estimate").inner_text()
    # A bad value shows its error next to the field, without a page load.
    page.fill("#id_param_storageGB", "5")
    page.locator("#id_param_storageGB").dispatch_event("change")
    error = page.locator("#id_param_storageGB-errors li")
    error.wait_for(timeout=10000)
    assert error.inner_text() == "must be between 10 and 1000 (got 5)"
    assert page.get_by_test_id("claim-yaml").count() == 0
    assert page.input_value("#id_name") == "orders-db"  # what was typed stays
    page.fill("#id_param_storageGB", "20")
    page.locator("#id_param_storageGB").dispatch_event("change")
    page.get_by_test_id("claim-yaml").wait_for(timeout=10000)
    assert page.locator("#id_param_storageGB-errors li").count() == 0
    # Choosing another class swaps in its parameters; the fields above keep their values.
    page.select_option("#id_resource_class", "queue")
    page.locator("#id_param_retentionHours").wait_for(timeout=10000)
    page.select_option("#id_resource_class", "postgresql")
    page.locator("#id_param_storageGB").wait_for(timeout=10000)
    page.fill("#id_param_storageGB", "20")
    page.select_option("#id_param_region", "eu-west-1")
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url("**/infra/requests/*/", timeout=10000)
    assert page.get_by_test_id("request-status").inner_text() in ("Provisioning", "Ready")
