"""The delivery metrics dashboard in a real browser: server-rendered SVG trends per week whose
marks match the loaded events, DORA bands, and drill-down organisation -> team -> component
by clicking, ending on the component's own four keys."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Locator, Page, expect

from catalog.models import Entity
from tests.conftest import make_group, make_member
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

# 30 days ending Sunday 29 March 2026: the weekly charts show the five weeks starting on the
# Mondays 23 Feb, 2 Mar, 9 Mar, 16 Mar and 23 Mar.
WINDOW = "window=30&until=2026-03-29"
# Successful production deployments per component and week (Monday); commits 2 h before each.
PLAN = {
    "checkout": {"2026-03-02": 2, "2026-03-09": 1, "2026-03-16": 3, "2026-03-23": 1},
    "search": {"2026-03-16": 1},
    "billing": {"2026-03-09": 2},
}
OWNERS = {"checkout": "team-orders", "search": "team-orders", "billing": "team-payments"}


def _events() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for component, weeks in PLAN.items():
        for week, count in weeks.items():
            monday = datetime.fromisoformat(week).replace(hour=9, tzinfo=UTC)
            for i in range(count):
                finished = monday + timedelta(days=i, hours=1)
                sha = f"{component}-{week}-{i}"
                events.append(
                    {
                        "type": "deployment",
                        "id": f"dep-{sha}",
                        "component": component,
                        "environment": "production",
                        "status": "success",
                        "started_at": (finished - timedelta(minutes=5)).isoformat(),
                        "finished_at": finished.isoformat(),
                        "commit": sha,
                        "commits": [
                            {
                                "sha": sha,
                                "committed_at": (finished - timedelta(hours=2)).isoformat(),
                            }
                        ],
                    }
                )
    # One incident on checkout, 3 h to resolve, after its first deployment of 16 March.
    started = datetime(2026, 3, 16, 12, tzinfo=UTC)
    events.append(
        {
            "type": "incident",
            "id": "inc-1",
            "component": "checkout",
            "started_at": started.isoformat(),
            "resolved_at": (started + timedelta(hours=3)).isoformat(),
        }
    )
    return events


@pytest.fixture
def signed_in(page: Page, live_server: Any, settings: Any, tmp_path: Path) -> Page:
    settings.PAVED_LOCAL_LOGIN = True
    settings.SOCIALACCOUNT_PROVIDERS = {}
    make_member("dana", make_group("team-orders"), first_name="Dana")
    for name, team in OWNERS.items():
        Entity.objects.create(kind="Component", name=name, owner_ref=f"group:default/{team}")
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in _events()))
    out = StringIO()
    call_command("metrics", "import-events", str(path), stdout=out)  # the real import path
    assert out.getvalue().startswith("loaded 11, duplicate 0, invalid 0")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username or e-mail").fill("dana")
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Dana")).to_be_visible()
    return page


def _chart(page: Page, title: str) -> Locator:
    return page.locator("figure.chart-figure").filter(
        has=page.locator("figcaption", has_text=title)
    )


def _bar_titles(page: Page) -> list[str]:
    """The per-week deployment bars, as their hover titles ("02 Mar: 2")."""
    bars = _chart(page, "Deployments per week").locator("svg rect.bar")
    return [t.strip() for t in bars.locator("title").all_text_contents()]


def _key(page: Page, heading: str) -> Locator:
    return page.locator("section.card.key").filter(has=page.get_by_role("heading", name=heading))


def test_dashboard_charts_bands_and_drilldown(signed_in: Page, live_server: Any) -> None:
    page = signed_in
    page.goto(f"{live_server.url}/metrics/?{WINDOW}")
    expect(page.get_by_role("heading", name="Delivery metrics: Organisation")).to_be_visible()
    # One bar per week of the window, each as tall as that week's deployments (10 in all).
    expect(_chart(page, "Deployments per week").locator("svg rect.bar")).to_have_count(5)
    assert _bar_titles(page) == [
        "23 Feb: 0",
        "02 Mar: 2",
        "09 Mar: 3",
        "16 Mar: 4",
        "23 Mar: 1",
    ]
    heights = [
        float(h or 0)
        for h in _chart(page, "Deployments per week")
        .locator("svg rect.bar")
        .evaluate_all("bars => bars.map(b => b.getAttribute('height'))")
    ]
    assert heights[3] == max(heights)
    assert heights[0] == 0
    assert heights[1] == pytest.approx(heights[3] / 2, abs=0.2)
    # The lead time line has a dot for each of the four weeks with deployments, none for the
    # empty first week (a gap, not a zero).
    expect(_chart(page, "Lead time").locator("svg circle.dot")).to_have_count(4)
    # Keys and their DORA bands: 10 deployments in 30 days is "high"; 2 h lead time "elite".
    freq = _key(page, "Deployment frequency")
    expect(freq.locator(".key-value")).to_contain_text("0.33")
    expect(freq).to_contain_text("10 deployments on 8 days")  # two share a day
    expect(freq.locator(".badge")).to_have_text("high")
    expect(_key(page, "Lead time for changes").locator(".badge")).to_have_text("elite")
    expect(_key(page, "Change failure rate").locator(".key-value")).to_have_text("10%")
    screenshot(page, "metrics-organisation")

    # Organisation -> team, by clicking the team in the Teams table.
    teams = page.locator("section.card").filter(has=page.get_by_role("heading", name="Teams"))
    expect(teams.locator("tbody tr")).to_have_count(2)
    teams.get_by_role("link", name="team-orders", exact=True).click()
    expect(page).to_have_url(re.compile(r"/metrics/teams/team-orders/\?.*window=30"))
    expect(page.locator("h1")).to_have_text("Delivery metrics: Team team-orders")
    assert _bar_titles(page) == [
        "23 Feb: 0",
        "02 Mar: 2",
        "09 Mar: 1",
        "16 Mar: 4",
        "23 Mar: 1",
    ]
    components = page.locator("section.card").filter(
        has=page.get_by_role("heading", name="Components")
    )
    expect(components.locator("tbody tr")).to_have_count(2)  # checkout and search, not billing
    expect(components.get_by_role("link", name="billing")).to_have_count(0)
    screenshot(page, "metrics-team")

    # Team -> component: its own four keys, from its 7 deployments and 1 incident.
    components.get_by_role("link", name="checkout", exact=True).click()
    expect(page).to_have_url(re.compile(r"/metrics/components/checkout/\?.*window=30"))
    expect(page.locator("h1")).to_have_text("Delivery metrics: Component checkout")
    crumbs = page.get_by_role("navigation", name="Breadcrumbs")
    expect(crumbs.get_by_role("link", name="team-orders")).to_be_visible()
    expect(page.locator(".metrics-keys").first.locator("section.card.key")).to_have_count(4)
    freq = _key(page, "Deployment frequency")
    expect(freq.locator(".key-value")).to_contain_text("0.23")  # 7 / 30 days
    expect(freq).to_contain_text("7 deployments on 7 days")
    expect(freq.locator(".badge")).to_have_text("high")
    # Lead times of exactly 2 h fall in the 2-4 h histogram bucket; the dashboard estimates
    # the median inside it (the exact value is what `metrics dora` prints).
    lead = _key(page, "Lead time for changes")
    expect(lead.locator(".key-value")).to_have_text("3.0 h")
    expect(lead.locator(".badge")).to_have_text("elite")
    cfr = _key(page, "Change failure rate")
    expect(cfr.locator(".key-value")).to_have_text("14%")  # 1 of 7
    expect(cfr.locator(".badge")).to_have_text("medium")  # 2023 table: <= 15 %
    recovery = _key(page, "Failed deployment recovery time")
    expect(recovery.locator(".key-value")).to_have_text("3.0 h")
    expect(recovery.locator(".badge")).to_have_text("high")
    assert _bar_titles(page) == [
        "23 Feb: 0",
        "02 Mar: 2",
        "09 Mar: 1",
        "16 Mar: 3",
        "23 Mar: 1",
    ]
    screenshot(page, "metrics-component")

    # Back up through the breadcrumbs to the organisation.
    crumbs.get_by_role("link", name="Organisation").click()
    expect(page.get_by_role("heading", name="Delivery metrics: Organisation")).to_be_visible()
