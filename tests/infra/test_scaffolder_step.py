"""The `infra:request` step kind that scaffolder templates use, and the catalog tab helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.template.loader import render_to_string

from catalog.models import Entity
from infra import services
from infra.models import RequestStatus, ResourceRequest
from infra.queries import component_infra_summary
from infra.validation import RequestSpec
from runs.models import RunStatus
from runs.registry import get_step_kind
from runs.runner import RunStartError, StepSpec, start_run
from tests.infra.conftest import SEED_REQUEST, drive, latest_run

pytestmark = pytest.mark.django_db

STEP_INPUT = {
    "resourceClass": "postgresql",
    "name": "orders-db",
    "namespace": "orders-service",
    "environment": "dev",
    "component": "orders-service",
    "parameters": {"storageGB": 20, "tier": "standard", "region": "eu-west-1"},
}


def test_step_kind_is_registered() -> None:
    assert get_step_kind("infra:request").title.startswith("Request infrastructure")


def test_template_step_creates_a_request_once(
    owner: User, orders_service: Entity, cluster_dir: Path
) -> None:
    run = start_run(
        kind="scaffolder",
        title="New service",
        steps=[StepSpec("db", "infra:request", inputs=STEP_INPUT)],
        actor=owner,
    )
    drive(run)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    req = ResourceRequest.objects.get()
    assert (req.requested_by, req.source_run_id, req.owner_ref) == (
        owner,
        run.pk,
        "group:default/team-orders",
    )
    outputs = run.steps.get().outputs
    assert outputs["requestId"] == req.pk
    assert outputs["secretName"] == "orders-db-secret"
    assert outputs["url"] == f"/infra/requests/{req.pk}/"
    # Idempotent: running the step again returns the same request.
    again = services.request_from_scaffolder(run=run, inputs=STEP_INPUT)
    assert again.pk == req.pk
    assert ResourceRequest.objects.count() == 1
    # The infra run it started provisions it.
    drive(latest_run(req.subject))
    req.refresh_from_db()
    assert req.status == RequestStatus.READY


def test_template_step_fails_clearly_for_a_component_the_requester_does_not_own(
    outsider: User, orders_service: Entity, cluster_dir: Path
) -> None:
    run = start_run(
        kind="scaffolder",
        title="New service",
        steps=[StepSpec("db", "infra:request", inputs=STEP_INPUT)],
        actor=outsider,
    )
    drive(run)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "you do not own orders-service" in run.error
    assert ResourceRequest.objects.count() == 0


def test_step_inputs_are_checked_before_the_run_starts(owner: User) -> None:
    with pytest.raises(RunStartError, match="'component' is a required property"):
        start_run(
            kind="scaffolder",
            title="x",
            steps=[
                StepSpec(
                    "db",
                    "infra:request",
                    inputs={k: v for k, v in STEP_INPUT.items() if k != "component"},
                )
            ],
            actor=owner,
        )


def test_component_summary_and_partials(
    owner: User, orders_service: Entity, cluster_dir: Path, django_assert_num_queries: object
) -> None:
    for env, name in (("dev", "orders-db"), ("staging", "orders-db"), ("dev", "orders-cache")):
        doc = {**SEED_REQUEST, "environment": env, "name": name, "component": "orders-service"}
        if name == "orders-cache":
            doc = {
                **doc,
                "resourceClass": "redis",
                "parameters": {"tier": "standard", "region": "eu-west-1"},
            }
        req = services.submit_request(spec=RequestSpec.from_document(doc), actor=owner)
        drive(latest_run(req.subject))
    with django_assert_num_queries(1):  # type: ignore[operator]
        summary = component_infra_summary(orders_service)
    assert summary["count"] == 3
    # dev: 15 + 20 x 0.115 = 17.30 and redis 12; staging: 30 + 20 x 0.115 = 32.30
    assert {env: str(cost) for env, cost in summary["cost_by_environment"]} == {
        "dev": "29.30",
        "staging": "32.30",
    }
    assert str(summary["monthly_cost"]) == "61.60"
    tab = render_to_string("infra/_component_tab.html", {"infra": summary})
    assert "orders-service/orders-cache" in tab
    assert "orders-db-secret" in tab
    costs = render_to_string("infra/_component_costs.html", {"infra": summary})
    assert "$61.60" in costs
