"""Infra fixtures: a catalog with components owned by the personas' teams, the test cluster,
and a way to drive a run in this process as a worker would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

import tests.infra.cluster  # noqa: F401  (registers test-cluster / gitops-test)
from catalog.models import Entity
from infra.models import ResourceClass, TeamLead
from infra.presets import install_presets
from runs.models import Run, Step, StepStatus
from runs.runner import advance_run, execute_step

SEED_REQUEST: dict[str, Any] = {
    "resourceClass": "postgresql",
    "name": "orders-db",
    "namespace": "orders-service",
    "environment": "production",
    "provider": "aws",
    "parameters": {
        "storageGB": 20,
        "tier": "standard",
        "region": "ap-northeast-2",
        "backupEnabled": True,
    },
}

SEED_CLAIM = {
    "apiVersion": "database.platform.myorg.io/v1alpha1",
    "kind": "PostgreSQLInstance",
    "metadata": {"name": "orders-db", "namespace": "orders-service"},
    "spec": {
        "parameters": {
            "storageGB": 20,
            "tier": "standard",
            "region": "ap-northeast-2",
            "backupEnabled": True,
        },
        "compositionSelector": {"matchLabels": {"provider": "aws", "environment": "production"}},
        "writeConnectionSecretToRef": {"name": "orders-db-secret"},
    },
}

SEED_COMPOSITION = {
    "apiVersion": "apiextensions.crossplane.io/v1",
    "kind": "Composition",
    "metadata": {
        "name": "postgresql-aws-production",
        "labels": {"provider": "aws", "environment": "production"},
    },
    "spec": {
        "compositeTypeRef": {
            "apiVersion": "database.platform.myorg.io/v1alpha1",
            "kind": "PostgreSQLInstance",
        },
        "resources": [
            {
                "name": "rds-instance",
                "base": {
                    "apiVersion": "rds.aws.upbound.io/v1beta1",
                    "kind": "Instance",
                    "spec": {
                        "forProvider": {
                            "region": "us-east-1",
                            "instanceClass": "db.t3.medium",
                            "engine": "postgres",
                            "engineVersion": "16",
                            "multiAz": True,
                            "storageEncrypted": True,
                            "deletionProtection": True,
                        }
                    },
                },
                "patches": [
                    {
                        "fromFieldPath": "spec.parameters.storageGB",
                        "toFieldPath": "spec.forProvider.allocatedStorage",
                    },
                    {
                        "fromFieldPath": "spec.parameters.region",
                        "toFieldPath": "spec.forProvider.region",
                    },
                ],
            }
        ],
    },
}


@pytest.fixture(autouse=True)
def presets(db: Any) -> None:
    """Migration 0002 installs them; transactional tests flush tables, so make sure."""
    if not ResourceClass.objects.exists():
        install_presets()


@pytest.fixture
def cluster_dir(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cluster"
    path.mkdir()
    monkeypatch.setenv("PAVED_TEST_CLUSTER_DIR", str(path))
    settings.PAVED_CLUSTER_PROVIDER = "test-cluster"
    settings.PAVED_INFRA_READY_POLL_SECONDS = 0.05
    settings.PAVED_INFRA_READY_WAIT_SECONDS = 0.3
    settings.PAVED_STEP_RETRY_BACKOFF_SECONDS = 0
    return path


@pytest.fixture
def orders_service(team: Entity) -> Entity:
    return Entity.objects.create(
        kind="Component", name="orders-service", owner_ref=team.ref, spec_type="service"
    )


@pytest.fixture
def payments_service(other_team: Entity) -> Entity:
    return Entity.objects.create(
        kind="Component", name="payments-service", owner_ref=other_team.ref, spec_type="service"
    )


@pytest.fixture
def team_lead(team: Entity) -> User:
    from tests.conftest import make_member

    lead = make_member("lena", team)
    TeamLead.objects.create(group_ref=team.ref, user=lead)
    return lead


def drive(run: Run, *, max_steps: int = 40) -> Run:
    """Execute the run's steps here, in order, as a worker would (retries included)."""
    for _ in range(max_steps):
        advance_run(run.pk)
        run.refresh_from_db()
        if run.is_finished:
            return run
        step = run.steps.filter(status=StepStatus.PENDING).order_by("position").first()
        assert step is not None
        Step.objects.filter(pk=step.pk).update(not_before=None)
        execute_step(step.pk)
    raise AssertionError("run did not finish")


def latest_run(subject: str) -> Run:
    run = Run.objects.filter(subject=subject).order_by("-id").first()
    assert run is not None
    return run
