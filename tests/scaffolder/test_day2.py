"""Service day 2 on the component page: the owning team adds an environment (a namespace and an
Argo CD application through the GitOps repository) as a run of its own, audited; other teams
see where it runs but cannot add one. Real local git host and GitOps repository."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from catalog.models import Entity
from portal.models import AuditEvent
from portal.providers import git_host
from portal.providers.gitops.provider import GitOpsProvider
from scaffolder.day2 import environments_of
from scaffolder.engine.authority import reserve
from scaffolder.engine.runner import StepSpec, start_run
from scaffolder.models import Run, RunStatus
from tests.infra.conftest import drive

pytestmark = pytest.mark.django_db

PAGE = "/catalog/default/component/orders-api/?tab=environments"


@pytest.fixture
def service(settings: Any, tmp_path: Path, team: Entity, owner: User) -> Entity:
    """orders-api as the golden path left it: repository, dev namespace and application."""
    settings.PAVED_GIT_PROVIDER = "local"
    settings.PAVED_GIT_LOCAL_ROOT = str(tmp_path / "git")
    settings.PAVED_GITOPS_REPO = "platform/gitops"
    settings.PAVED_CLUSTER_PROVIDER = "gitops"
    settings.PAVED_DEPLOY_PROVIDER = "gitops"
    settings.PAVED_SHARED_REPOSITORY_OWNERS = []
    host = git_host()
    repo, _ = host.ensure_repository("team-orders", "orders-api")
    host.commit_files(repo, {"deploy/k8s/kustomization.yaml": b"resources: []\n"}, message="init")
    created = start_run(kind="scaffolder", title="Create orders-api", actor=owner,
                        owner_ref=team.ref,
                        steps=[StepSpec(key="s", kind="debug:log", inputs={"message": "x"})])  # fmt: skip
    reserve(kind="namespace", key="dev/orders", owner_ref=team.ref, run=created, step_key="ns")
    reserve(kind="application", key="dev/orders-api-dev", owner_ref=team.ref, run=created,
            step_key="argocd")  # fmt: skip
    return Entity.objects.create(
        kind="Component", name="orders-api", owner_ref=team.ref, spec_type="service",
        metadata={"annotations": {"localhost/project-slug": "team-orders/orders-api",
                                  "paved.dev/namespace": "orders"}},
    )  # fmt: skip


def test_the_team_adds_staging_through_the_gitops_repository(
    client: Client, owner: User, service: Entity, settings: Any
) -> None:
    client.force_login(owner)
    page = client.get(PAGE).content.decode()
    assert '<span class="badge info">dev</span>' in page
    assert '<option value="staging">staging</option>' in page
    assert '<option value="dev">' not in page  # it already runs there

    response = client.post("/components/add-environment",
                           {"ref": service.ref, "environment": "staging"})  # fmt: skip
    run = Run.objects.get(subject=f"catalog.day2:{service.ref}")
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.pk}/"
    assert run.requested_by == owner
    assert drive(run).status == RunStatus.SUCCEEDED, list(run.steps.values_list("key", "error"))

    gitops = GitOpsProvider()
    namespace = gitops.read_manifest("v1", "Namespace", "", "orders", environment="staging")
    assert namespace is not None
    app = gitops.read_manifest("argoproj.io/v1alpha1", "Application",
                               settings.PAVED_ARGOCD_NAMESPACE, "orders-api-staging",
                               environment="staging")  # fmt: skip
    assert app is not None
    assert app["spec"]["destination"]["namespace"] == "orders"
    assert app["spec"]["source"]["path"] == "deploy/k8s"
    assert environments_of(service) == ["dev", "staging"]
    assert AuditEvent.objects.filter(action="component.environment.added",
                                     target_label=service.ref).exists()  # fmt: skip
    assert AuditEvent.objects.filter(action="run.started", target_id=str(run.pk)).exists()

    # Adding it again says so and starts nothing.
    page = client.post("/components/add-environment",
                       {"ref": service.ref, "environment": "staging"}, follow=True)  # fmt: skip
    assert "orders-api already runs in staging." in page.content.decode()
    assert Run.objects.filter(subject=f"catalog.day2:{service.ref}").count() == 1


def test_another_team_sees_the_environments_but_cannot_add_one(
    client: Client, outsider: User, service: Entity
) -> None:
    client.force_login(outsider)
    page = client.get(PAGE).content.decode()
    assert '<span class="badge info">dev</span>' in page
    assert "Add environment" not in page
    response = client.post("/components/add-environment",
                           {"ref": service.ref, "environment": "production"})  # fmt: skip
    assert response.status_code == 404
    assert not Run.objects.filter(subject=f"catalog.day2:{service.ref}").exists()
    assert GitOpsProvider().read_manifest("v1", "Namespace", "", "orders",
                                          environment="production") is None  # fmt: skip


def test_a_service_without_a_repository_is_told_why(
    client: Client, owner: User, service: Entity
) -> None:
    service.metadata = {"annotations": {}}
    service.save()
    client.force_login(owner)
    page = client.post("/components/add-environment",
                       {"ref": service.ref, "environment": "staging"}, follow=True)  # fmt: skip
    assert "names no repository Paved can find" in page.content.decode()
    assert not Run.objects.filter(subject=f"catalog.day2:{service.ref}").exists()
