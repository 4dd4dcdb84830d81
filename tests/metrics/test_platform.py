"""Golden-path adoption, self-service rate, template time-to-production; token admin."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client

from catalog.models import ApiToken, Entity
from infra.models import RequestStatus, ResourceClass, ResourceRequest
from metrics import platform
from metrics.batch import Incoming
from metrics.events import parse_event
from metrics.ingestion import ingest
from runs.models import Run, RunStatus, Step
from runs.runner import retry_run

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def run(
    ref: str | None, status: str = RunStatus.SUCCEEDED, kind: str = "scaffolder", **context: object
) -> Run:
    ctx = dict(context)
    if ref:
        ctx["component_ref"] = ref
    return Run.objects.create(
        kind=kind, title="t", status=status, context=ctx, started_at=T0, finished_at=T0
    )


def test_golden_path_adoption_rules_and_extension() -> None:
    Entity.objects.create(
        kind="Component",
        name="a",
        metadata={"annotations": {"paved.dev/template": "python-service"}},
    )
    Entity.objects.create(kind="Component", name="b")
    Entity.objects.create(kind="Component", name="c")
    Entity.objects.create(kind="Component", name="old", lifecycle="deprecated")
    run("component:default/b")
    run("component:default/c", recommended=False)
    result = platform.golden_path_adoption()
    assert (result["components"], result["on_golden_path"]) == (3, 2)
    platform.register_golden_path_rule(
        "test-all-c", lambda qs: set(qs.filter(name="c").values_list("pk", flat=True))
    )
    try:
        assert platform.golden_path_adoption()["rate"] == 1.0
        assert platform.is_on_golden_path(Entity.objects.get(name="c"))
    finally:
        platform._RULES.pop("test-all-c")


def infra_request(name: str, status: str, **fields: object) -> ResourceRequest:
    return ResourceRequest.objects.create(
        resource_class=ResourceClass.objects.get(name="postgresql"),
        owner_ref="group:default/team-a",
        name=name,
        namespace="team-a",
        environment="dev",
        status=status,
        updated_at=T0,
        **fields,
    )


def test_self_service_rate_from_runs_and_infra_requests(owner: User) -> None:
    # Scaffolder: a clean success, a failure, and a success only after a person retried it
    # (the engine's own retry path writes the record the metric reads).
    run(None)
    run(None, status=RunStatus.FAILED)
    retried = run(None, status=RunStatus.FAILED)
    Step.objects.create(
        run=retried, position=0, key="publish", name="Publish", kind="debug:log", status="failed"
    )
    retry_run(retried, actor=owner)
    Run.objects.filter(pk=retried.pk).update(status=RunStatus.SUCCEEDED, finished_at=T0)
    # Runs of other kinds (an infra request's own runs, demos) are not requests here, and
    # context flags a run could carry about itself change nothing.
    run(None, kind="infra")
    run(None, kind="demo", manual=False, approved_by="")
    # Infra: ready without approval and untouched; ready after an approval; ready after a
    # person retried its run; rejected; and one still waiting (not settled, not counted).
    ready = RequestStatus.READY
    infra_request("auto", ready, ready_at=T0, needed_approval=False, fulfilled_without_human=True)
    infra_request(
        "approved", ready, ready_at=T0, needed_approval=True, fulfilled_without_human=True
    )
    infra_request(
        "retried", ready, ready_at=T0, needed_approval=False, fulfilled_without_human=False
    )
    infra_request("no", RequestStatus.REJECTED, needed_approval=True)
    infra_request("waiting", RequestStatus.AWAITING_APPROVAL, needed_approval=True)

    r = platform.self_service_rate(date(2026, 3, 1), date(2026, 3, 31))
    assert r["scaffolder"] == {"requests": 3, "self_service": 1}
    assert r["infra"] == {"requests": 4, "self_service": 1, "needed_approval": 2}
    assert (r["requests"], r["self_service"]) == (7, 2)
    assert r["rate"] == pytest.approx(2 / 7)
    # Outside the window nothing counts.
    assert platform.self_service_rate(date(2026, 4, 1), date(2026, 4, 30))["rate"] is None


def test_template_time_to_production() -> None:
    run("component:default/newsvc")
    event = parse_event(
        {
            "type": "deployment",
            "id": "n1",
            "component": "newsvc",
            "environment": "production",
            "status": "success",
            "finished_at": "2026-03-02T13:30:00Z",
            "commits": [],
        }
    )
    ingest([Incoming(source="api", delivery_id="deployment:n1", event=event)])
    r = platform.template_time_to_production(date(2026, 3, 1), date(2026, 3, 31))
    assert (r["runs"], r["deployed"], r["median_hours"]) == (1, 1, 3.5)


def test_roi_after_measured_from_runs(client: Client, owner: User) -> None:
    from metrics.roi import measured

    run("component:default/newsvc")
    m = measured(date(2026, 3, 10))
    assert m["runs"] == 1
    assert m["services_per_month"] == 1


def test_integration_token_created_in_admin(client: Client, platform_admin: User) -> None:
    client.force_login(platform_admin)
    response = client.post(
        "/admin/catalog/apitoken/add/", {"name": "jenkins", "scope": "metrics-events"}
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(name="jenkins")
    assert token.scope == ApiToken.Scope.METRICS_EVENTS
    assert token.user is None
    plain = response.context["token"]  # shown once on the response (tests/security)
    assert token.token_hash != plain
    assert plain.startswith(token.prefix)
    ok = client.post(
        "/api/metrics/events",
        json.dumps([]),
        content_type="application/json",
        headers={"Authorization": f"Bearer {plain}"},
    )
    assert ok.status_code == 200
