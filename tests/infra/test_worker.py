"""End to end with a real Celery worker subprocess: submit, approve, and the worker applies the
claim, waits for readiness and marks the request ready (the run-kind hook runs in the worker)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User

from catalog.models import Entity
from infra import services
from infra.models import RequestStatus, ResourceRequest
from infra.validation import RequestSpec
from runs.models import Run, RunStatus
from tests.conftest import wait_for
from tests.infra.cluster import manifest_path
from tests.infra.conftest import SEED_CLAIM, SEED_REQUEST

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def worker_env(worker_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    cluster = tmp_path / "worker-cluster"
    cluster.mkdir()
    return {
        **worker_env,
        "PAVED_EXTRA_STEP_MODULES": "tests.engine.steps,tests.infra.cluster",
        "PAVED_CLUSTER_PROVIDER": "test-cluster",
        "PAVED_TEST_CLUSTER_DIR": str(cluster),
    }


def test_approved_production_request_is_provisioned_by_the_worker(
    owner: User, platform_admin: User, orders_service: Entity, worker_env: dict[str, str],
    celery_worker: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("PAVED_TEST_CLUSTER_DIR", worker_env["PAVED_TEST_CLUSTER_DIR"])
    spec = RequestSpec.from_document({**SEED_REQUEST, "component": "orders-service"})
    req = services.submit_request(spec=spec, actor=owner)
    check = Run.objects.get(subject=req.subject)
    wait_for(lambda: Run.objects.get(pk=check.pk).status == RunStatus.SUCCEEDED)
    assert ResourceRequest.objects.get(pk=req.pk).status == RequestStatus.AWAITING_APPROVAL
    services.approve_request(approval=req.approvals.get(), actor=platform_admin)
    wait_for(lambda: ResourceRequest.objects.get(pk=req.pk).status == RequestStatus.READY)
    req.refresh_from_db()
    assert req.fulfilled_without_human is False  # a person approved it
    assert req.time_to_ready is not None
    path = manifest_path("production", "PostgreSQLInstance", "orders-service", "orders-db")
    assert yaml.safe_load(path.read_text()) == SEED_CLAIM
