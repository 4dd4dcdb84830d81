"""Scorecard tab, scorecards page (query counts independent of component count), CLI, and
Paved's own catalog-info.yaml in the demo data."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.models import Entity
from metrics.scorecards.models import ScorecardResult
from metrics.scorecards.services import evaluate
from tests.conftest import make_group
from tests.metrics.scorecard_helpers import ensure_default_scorecard

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_scorecard() -> None:
    ensure_default_scorecard()


def component(name: str, owner: str = "group:default/team-orders", **kw: Any) -> Entity:
    annotations = kw.pop("annotations", {})
    return Entity.objects.create(
        kind="Component", name=name, owner_ref=owner,
        metadata={"name": name, "annotations": annotations}, **kw,
    )  # fmt: skip


def _queries(client: Client, url: str, **params: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_component_tab_shows_level_failing_checks_and_fixes(
    client: Client, platform_admin: User
) -> None:
    make_group("team-orders")
    svc = component("tabbed", description="Orders",
                    annotations={"backstage.io/techdocs-ref": "dir:."})  # fmt: skip
    client.force_login(platform_admin)
    url = f"/catalog/default/component/{svc.name}/"
    assert "Scorecard" in client.get(url).content.decode()
    _, body = _queries(client, url, tab="scorecard")
    assert "not evaluated yet" in body
    evaluate()
    n1, body = _queries(client, url, tab="scorecard")
    assert "Bronze" in body
    assert "On-call configured" in body
    assert "How to fix" in body
    assert 'href="/docs/on-call/"' in body
    assert "paved.dev/on-call" in body
    # more components and more history do not change the tab's cost
    for i in range(15):
        component(f"more-{i}")
    evaluate()
    evaluate()
    n2, _ = _queries(client, url, tab="scorecard")
    assert n1 == n2


def test_scorecards_page_ranks_filters_and_charts(client: Client, owner: User) -> None:
    make_group("team-payments")
    docs = {"backstage.io/techdocs-ref": "dir:."}
    component("alpha", description="A", annotations=docs)
    component("beta", owner="group:default/team-payments")
    evaluate()
    client.force_login(owner)
    n1, body = _queries(client, "/metrics/scorecards/")
    assert "Production readiness" in body
    assert body.index("alpha") < body.index("beta")  # Bronze ranks above no level
    assert "group:default/team-payments" in body
    assert '<svg class="chart' in body
    for i in range(20):
        component(f"gamma-{i}", owner="group:default/team-payments")
    evaluate()
    n2, _ = _queries(client, "/metrics/scorecards/")
    assert n1 == n2
    _, filtered = _queries(client, "/metrics/scorecards/", team="group:default/team-payments")
    assert "beta" in filtered
    assert ">alpha<" not in filtered
    _, bronze = _queries(client, "/metrics/scorecards/", level="Bronze")
    assert ">alpha<" in bronze
    assert ">beta<" not in bronze
    _, search = _queries(client, "/metrics/scorecards/", q="gamma-1")
    assert "gamma-1" in search
    assert ">alpha<" not in search
    partial = client.get("/metrics/scorecards/", {"q": "alpha"}, headers={"HX-Request": "true"})
    assert partial.content.decode().lstrip().startswith('<div id="scorecards-body">')


def test_cli_json_and_text() -> None:
    make_group("team-orders")
    component("cli-svc", description="d", annotations={"backstage.io/techdocs-ref": "dir:."})
    component("other")
    out = StringIO()
    call_command("scorecards", "evaluate", "--component", "cli-svc", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert len(data) == 1
    row = data[0]
    assert (row["component"], row["level"], row["scorecard"]) == (
        "cli-svc",
        "Bronze",
        "Production readiness",
    )
    failing = {f["key"]: f["status"] for f in row["failing"]}
    assert failing["on-call"] == "fail"
    assert failing["runbook"] == "unknown"
    assert "owner-exists" not in failing
    assert ScorecardResult.objects.filter(component__name="cli-svc", current=True).count() == 1
    assert not ScorecardResult.objects.filter(component__name="other").exists()
    text = StringIO()
    call_command("scorecards", "evaluate", stdout=text)
    assert "other [Production readiness]: no level" in text.getvalue()
    assert "FAIL     On-call configured" in text.getvalue()
    with pytest.raises(CommandError, match="no component named 'nope'"):
        call_command("scorecards", "evaluate", "--component", "nope")


def test_paved_appears_in_its_own_catalog_with_a_scorecard() -> None:
    from catalog.demo import load_demo_catalog
    from metrics.scorecards.demo import load_paved_and_scorecards

    load_demo_catalog()
    load_paved_and_scorecards()
    paved = Entity.objects.get(ref="component:default/paved")
    assert paved.processing_errors == []
    assert paved.owner_ref == "group:default/platform-team"
    apis = set(Entity.objects.filter(kind="API").values_list("name", flat=True))
    assert {"paved-catalog-api", "paved-metrics-events-api"} <= apis
    result = ScorecardResult.objects.get(component=paved, current=True)
    assert result.outcomes["owner-exists"]["status"] == "pass"
    assert result.outcomes["description-and-docs"]["status"] == "pass"
    assert result.outcomes["on-call"]["status"] == "pass"
    assert result.level_name == "Bronze"


@pytest.mark.django_db(transaction=True)
def test_saving_a_component_re_evaluates_it_at_once_on_a_real_worker(celery_worker: Any) -> None:
    from metrics.tasks import evaluate_scorecards_task
    from portal.celery import app
    from tests.conftest import wait_for

    entry = app.conf.beat_schedule["metrics-evaluate-scorecards"]
    assert entry["task"] == evaluate_scorecards_task.name
    svc = component("hooked")
    wait_for(
        lambda: ScorecardResult.objects.filter(component=svc, current=True).exists(), timeout=30
    )
    assert ScorecardResult.objects.get(component=svc).outcomes["on-call"]["status"] == "fail"
    svc.metadata = {"name": "hooked", "annotations": {"paved.dev/on-call": "orders"}}
    svc.save()
    wait_for(
        lambda: (
            ScorecardResult.objects.get(component=svc, current=True).outcomes["on-call"]["status"]
            == "pass"
        ),
        timeout=30,
    )
    assert ScorecardResult.objects.filter(component=svc).count() == 2
