"""Undo what a failed run created: a run of its own removes the repository, the GitOps
objects, the Argo CD application and the catalog location the run made — and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from catalog.ingestion import REPO
from catalog.models import Entity, Location
from portal.models import AuditEvent
from runs.models import ProvisionedResource, Run, RunStatus, StepStatus
from runs.runner import advance_run, execute_step
from scaffolder.demo import load_builtin_templates
from scaffolder.models import TemplateVersion
from scaffolder.services import start_template_run
from tests.scaffolder.test_golden_path_embedded import EMBEDDED, VALUES
from tests.scaffolder.test_template_runs import drive

pytestmark = pytest.mark.django_db


def _gitops_files() -> list[str]:
    from portal.providers import cluster

    provider: Any = cluster()
    return provider.host.list_files(provider.repository())


def _run_until(run: Run, stop_before: str) -> None:
    for _ in range(30):
        advance_run(run.pk)
        step = run.steps.filter(status=StepStatus.PENDING).order_by("position").first()
        if step is None or step.key == stop_before:
            return
        execute_step(step.pk)


@EMBEDDED
def test_undo_removes_exactly_what_the_failed_run_created(
    owner: User, owner_client: Client, outsider: User, git_root: Path
) -> None:
    load_builtin_templates()
    version = TemplateVersion.objects.get(ref="template:default/python-service")
    run = start_template_run(version=version, values=VALUES, actor=owner)
    _run_until(run, stop_before="register")
    gitops_before_run = [f for f in _gitops_files() if "orders-api" not in f]
    # Someone registers the same name meanwhile: the last step fails, half a service is left.
    other = Location.objects.create(type=REPO, target="team-payments/elsewhere")
    Entity.objects.create(kind="Component", name="orders-api", location=other,
                          owner_ref="group:default/team-payments")  # fmt: skip
    run = drive(run)
    assert run.status == RunStatus.FAILED
    assert (git_root / "team-orders" / "orders-api.git").exists()
    assert any("orders-api" in f for f in _gitops_files())
    kinds = set(ProvisionedResource.objects.filter(run=run).values_list("kind", flat=True))
    assert kinds == {"repository", "namespace", "application", "catalog-location"}

    # Another team may not undo it (404, as for any run they cannot see).
    outsider_client = Client()
    outsider_client.force_login(outsider)
    assert outsider_client.post(f"/runs/{run.pk}/undo", {"confirm": run.title}).status_code == 404

    page = owner_client.get(f"/runs/{run.pk}/")
    assert "Undo what this run created" in page.content.decode()
    listing = owner_client.get(f"/runs/{run.pk}/undo").content.decode()
    assert "the repository team-orders/orders-api" in listing
    assert "the namespace orders-api (dev)" in listing
    wrong = owner_client.post(f"/runs/{run.pk}/undo", {"confirm": "yes"})
    assert wrong.status_code == 422
    started = owner_client.post(f"/runs/{run.pk}/undo", {"confirm": run.title})
    assert started.status_code == 302
    undo = Run.objects.get(kind="undo")
    undo = drive(undo)
    assert undo.status == RunStatus.SUCCEEDED, undo.error

    assert not (git_root / "team-orders" / "orders-api.git").exists()
    assert [f for f in _gitops_files() if "orders-api" in f] == []
    assert [f for f in _gitops_files() if "orders-api" not in f] == gitops_before_run
    assert Entity.objects.filter(location=other).exists()  # what the run did not make stays
    assert not ProvisionedResource.objects.filter(run=run).exists()
    assert AuditEvent.objects.filter(action="run.undo.started").exists()
    # The names are free again: the same service can be created.
    Entity.objects.filter(location=other).delete()
    again = drive(start_template_run(version=version, values=VALUES, actor=owner))
    assert again.status == RunStatus.SUCCEEDED, again.error


@EMBEDDED
def test_undo_of_a_run_that_registered_its_catalog_entry_removes_it(
    owner: User, git_root: Path
) -> None:
    from runs.undo import start_undo

    load_builtin_templates()
    version = TemplateVersion.objects.get(ref="template:default/python-service")
    run = drive(start_template_run(version=version, values=VALUES, actor=owner))
    assert run.status == RunStatus.SUCCEEDED
    assert Entity.objects.filter(ref="component:default/orders-api").exists()
    Run.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)  # e.g. a later step failed
    run.refresh_from_db()
    undo = drive(start_undo(run, actor=owner))
    assert undo.status == RunStatus.SUCCEEDED, undo.error
    assert not Entity.objects.filter(ref="component:default/orders-api").exists()
    assert not Location.objects.filter(target__startswith="team-orders/orders-api").exists()
