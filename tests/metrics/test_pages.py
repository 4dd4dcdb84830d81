"""Dashboard, drill-down, component tab, unlinked list, reports, ROI and the DAU middleware."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client

from catalog.models import Entity
from metrics import dora
from metrics.component_tab import component_dora_summary
from metrics.models import DailyActiveUser, DailyRollup
from metrics.queries import DashboardWindow, keys_from_rows, scope_rows
from metrics.rollups import rebuild_rollups

EXAMPLE = Path(__file__).resolve().parent / "worked_example.jsonl"
pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog_components() -> None:
    Entity.objects.create(kind="Component", name="checkout", owner_ref="group:default/team-orders")
    Entity.objects.create(kind="Component", name="billing", owner_ref="group:default/team-payments")


@pytest.fixture
def loaded(catalog_components: None) -> None:
    call_command("metrics", "import-events", str(EXAMPLE), stdout=StringIO())


def test_rollups_match_exact_calculation(loaded: None) -> None:
    window = DashboardWindow(days=7, until=date(2026, 3, 8))
    rollup = keys_from_rows(scope_rows("component:checkout", window, "production"), window)
    exact = dora.dora_summary(
        dora.Scope("component", "checkout"), dora.Window(window.since, window.until)
    )
    assert rollup["deployments"] == exact["deployments"] == 4
    assert rollup["deployment_days"] == exact["deployment_days"]
    assert rollup["change_failure_rate"] == exact["change_failure_rate"]
    assert rollup["rework_rate"] == exact["rework_rate"]
    # Histogram medians land in the right bucket: 16 h is in (8, 16] or (16, 24].
    assert 8 <= rollup["lead_time_median_hours"] <= 24
    team = keys_from_rows(
        scope_rows("team:group:default/team-orders", window, "production"), window
    )
    org = keys_from_rows(scope_rows("org", window, "production"), window)
    assert (team["deployments"], org["deployments"]) == (4, 5)
    before = DailyRollup.objects.count()
    rebuild_rollups()  # a full rebuild gives the same rows as the incremental path
    assert DailyRollup.objects.count() == before


def test_incremental_rollup_after_late_incident(loaded: None, tmp_path: Path) -> None:
    window = DashboardWindow(days=7, until=date(2026, 3, 8))
    before = keys_from_rows(scope_rows("component:billing", window, "production"), window)
    assert before["change_failure_rate"] == 0
    f = tmp_path / "late.jsonl"
    f.write_text(
        '{"type": "incident", "id": "late", "component": "billing", "started_at": "2026-03-04T00:00:00Z"}\n'
    )
    call_command("metrics", "import-events", str(f), stdout=StringIO())
    after = keys_from_rows(scope_rows("component:billing", window, "production"), window)
    assert after["change_failure_rate"] == 1.0


def test_dashboard_drilldown_and_svg(client: Client, owner: User, loaded: None) -> None:
    client.force_login(owner)
    response = client.get("/metrics/?window=7&until=2026-03-08")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in html
    assert 'class="bar"' in html
    assert "style=" not in html.split("<main", 1)[1]  # CSP: no inline styles in our content
    assert "/metrics/teams/team-orders/" in html
    assert "5.0 / week" in html  # 5 deployments in 7 days
    team = client.get("/metrics/teams/team-orders/?window=7&until=2026-03-08").content.decode()
    assert "/metrics/components/checkout/" in team
    comp = client.get("/metrics/components/checkout/?window=7&until=2026-03-08")
    assert comp.status_code == 200
    assert '<code title="c4">c4</code>' in comp.content.decode()  # d5's commit, recent deployments
    assert client.get("/metrics/teams/nobody/").status_code == 404
    partial = client.get("/metrics/?window=30", headers={"HX-Request": "true"})
    assert partial.content.decode().lstrip().startswith('<div id="metrics-body">')


def test_dashboard_query_count_does_not_grow_with_events(
    client: Client, owner: User, loaded: None, django_assert_max_num_queries: Any
) -> None:
    client.force_login(owner)
    client.get("/metrics/")
    with django_assert_max_num_queries(20):
        client.get("/metrics/")


def test_component_tab_function_and_partial(client: Client, owner: User, loaded: None) -> None:
    entity = Entity.objects.get(name="checkout")
    summary = component_dora_summary(entity, window="7", until="2026-03-08")
    assert summary["keys"]["deployments"] >= 4
    client.force_login(owner)
    html = client.get("/metrics/components/checkout/tab?window=7&until=2026-03-08").content.decode()
    assert f'id="component-{entity.pk}-metrics"' in html
    assert "<svg" in html


def test_unlinked_page_for_staff(client: Client, platform_admin: User, owner: User) -> None:
    call_command("metrics", "import-events", str(EXAMPLE), stdout=StringIO())
    client.force_login(owner)
    assert client.get("/metrics/unlinked/").status_code == 403  # platform admins only
    client.force_login(platform_admin)
    html = client.get("/metrics/unlinked/").content.decode()
    assert "<code>checkout</code>" in html
    Entity.objects.create(kind="Component", name="checkout", owner_ref="group:default/team-orders")
    assert "manage.py" not in html  # a button, not a command to type
    page = client.post("/metrics/unlinked/", follow=True).content.decode()
    assert "Linked 15 events to catalog components." in page
    assert "<code>checkout</code>" not in page
    client.force_login(owner)
    assert client.post("/metrics/unlinked/").status_code == 403  # platform admins only
    assert "No event matches" in _relink_message(client, platform_admin)


def _relink_message(client: Client, admin: User) -> str:
    client.force_login(admin)
    return client.post("/metrics/unlinked/", follow=True).content.decode()


def test_waiting_events_link_on_their_own_once_the_catalog_changes(
    django_assert_num_queries: Any,
) -> None:
    from metrics.models import Deployment
    from metrics.relinking import relink_if_catalog_changed

    cache.clear()
    call_command("metrics", "import-events", str(EXAMPLE), stdout=StringIO())
    assert Deployment.objects.filter(component__isnull=True).exists()
    relink_if_catalog_changed()  # remembers the catalog as it is: nothing to link yet
    with django_assert_num_queries(1):  # unchanged catalog: one cheap check, no scan
        assert relink_if_catalog_changed() == 0
    Entity.objects.create(kind="Component", name="checkout", owner_ref="group:default/team-orders")
    assert relink_if_catalog_changed() > 0
    assert not Deployment.objects.filter(component_name="checkout", component__isnull=True).exists()
    assert Deployment.objects.filter(component_name="billing", component__isnull=True).exists()


def test_roi_defaults_and_validation(client: Client, owner: User) -> None:
    client.force_login(owner)
    html = client.get("/metrics/roi/").content.decode()
    assert "288 h" in html
    assert "$43,200" in html
    bad = client.get("/metrics/roi/?hourly_cost=lots")
    assert bad.status_code == 422
    assert "Enter a number" in bad.content.decode()
    custom = client.get(
        "/metrics/roi/?before_hours=20&after_hours=2&services_per_month=10&hourly_cost=100"
    )
    assert "$18,000" in custom.content.decode()


def test_daily_active_users_written_once_per_day(
    client: Client, owner: User, django_assert_num_queries: Any, settings: Any
) -> None:
    from django.utils import timezone

    settings.PAVED_RECORD_DAILY_ACTIVE_USERS = True
    # Only this user's key: the cache may share a Redis database with the broker.
    cache.delete(f"metrics:dau:{timezone.now().date().isoformat()}:{owner.pk}")
    client.force_login(owner)
    client.get("/metrics/roi/")
    client.get("/metrics/roi/")
    assert DailyActiveUser.objects.filter(user=owner).count() == 1


def test_labels_in_svg_are_escaped() -> None:
    from metrics.charts import bar_chart

    svg = str(bar_chart("<b>t</b>", [("<script>", 3)]))
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert re.search(r'<rect class="bar"', svg)


def test_component_page_has_a_deployments_tab(client, platform_admin) -> None:
    from catalog.models import Entity

    component = Entity.objects.create(kind="Component", name="tabbed-service", spec_type="service")
    client.force_login(platform_admin)
    url = f"/catalog/default/component/{component.name}/"
    assert "Deployments &amp; metrics" in client.get(url).content.decode()
    body = client.get(url, {"tab": "deployments"}).content.decode()
    assert f'id="component-{component.pk}-metrics"' in body


def test_unlinked_and_report_lists_make_a_fixed_number_of_queries(
    client: Client, platform_admin: User, django_assert_max_num_queries: Any, tmp_path: Path
) -> None:
    from metrics.reports import generate_weekly_report

    client.force_login(platform_admin)
    call_command("metrics", "import-events", str(EXAMPLE), stdout=StringIO())
    generate_weekly_report()
    with django_assert_max_num_queries(15) as few:
        assert client.get("/metrics/unlinked/").status_code == 200
        assert client.get("/metrics/reports/").status_code == 200
    # Many more unlinked components and reports: the same number of queries.
    more = tmp_path / "more.jsonl"
    more.write_text(
        "\n".join(
            json.dumps(
                {
                    "type": "deployment",
                    "id": f"x{i}",
                    "component": f"ghost-{i}",
                    "environment": "production",
                    "status": "success",
                    "started_at": "2026-03-01T10:00:00Z",
                    "finished_at": "2026-03-01T10:05:00Z",
                    "commit": f"abc{i}",
                }
            )
            for i in range(40)
        )
    )
    call_command("metrics", "import-events", str(more), stdout=StringIO())
    for week in range(1, 6):
        generate_weekly_report(date(2026, 3, 2) + timedelta(days=7 * week))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/metrics/unlinked/").status_code == 200
        assert client.get("/metrics/reports/").status_code == 200


def test_team_page_is_headed_by_the_teams_display_name(client: Any, owner: Any) -> None:
    from catalog.models import Entity

    Entity.objects.filter(ref="group:default/team-orders").update(
        spec={"type": "team", "profile": {"displayName": "Orders Team"}}
    )
    Entity.objects.create(kind="Component", name="checkout", owner_ref="group:default/team-orders")
    client.force_login(owner)
    body = client.get("/metrics/teams/team-orders/").content.decode()
    assert "Delivery metrics: Orders Team" in body
    assert "Team team-orders" not in body
