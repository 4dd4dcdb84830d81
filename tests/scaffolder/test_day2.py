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
from runs.authority import reserve
from runs.models import Run, RunStatus
from runs.runner import StepSpec, start_run
from scaffolder.day2 import environments_of
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
    again = client.post("/components/add-environment",
                        {"ref": service.ref, "environment": "staging"}, follow=True)  # fmt: skip
    assert "orders-api already runs in staging." in again.content.decode()
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


# --- decommission ---------------------------------------------------------------------------


def test_decommission_takes_the_service_down_after_typing_its_name(
    client: Client, owner: User, service: Entity, settings: Any
) -> None:
    from catalog.models import Location
    from infra import services as infra_services
    from infra.models import RequestStatus, ResourceClass, ResourceRequest
    from infra.presets import install_presets
    from infra.validation import RequestSpec
    from portal.providers.local_git.provider import LocalGitHost
    from tests.infra.conftest import latest_run

    location = Location.objects.create(type="repo", target="team-orders/orders-api/catalog-info.yaml",
                                       created_by=owner)  # fmt: skip
    Entity.objects.filter(pk=service.pk).update(location=location)
    service.refresh_from_db()
    if not ResourceClass.objects.exists():
        install_presets()
    db = infra_services.submit_request(spec=RequestSpec.from_document({
        "resourceClass": "postgresql", "name": "orders-db", "environment": "dev",
        "component": "orders-api",
        "parameters": {"storageGB": 20, "tier": "standard", "region": "eu-west-1"}}), actor=owner)  # fmt: skip
    drive(latest_run(db.subject))
    client.force_login(owner)
    client.post("/components/add-environment", {"ref": service.ref, "environment": "staging"})
    drive(Run.objects.get(subject=f"catalog.day2:{service.ref}"))
    gitops = GitOpsProvider()
    assert gitops.read_manifest("v1", "Namespace", "", "orders", environment="staging")

    # Step one: the plan, in plain words. Step two: the name, typed.
    url = f"/components/decommission?ref={service.ref}"
    page = client.get(url).content.decode()
    for what in ("delete its infrastructure", "remove the Argo CD application orders-api-staging (staging)",
                 "remove the namespace orders (staging)",
                 "archive the repository team-orders/orders-api", "retire orders-api from the catalog"):  # fmt: skip
        assert what in page, what
    wrong = client.post(url, {"ref": service.ref, "confirm": "orders"})
    assert wrong.status_code == 422
    assert "Type orders-api to confirm." in wrong.content.decode()
    assert Run.objects.filter(subject=f"catalog.day2:{service.ref}").count() == 1

    response = client.post(url, {"ref": service.ref, "confirm": "orders-api"})
    run = Run.objects.filter(subject=f"catalog.day2:{service.ref}").latest("id")
    assert response["Location"] == f"/runs/{run.pk}/"
    assert drive(run).status == RunStatus.SUCCEEDED, list(run.steps.values_list("key", "error"))
    drive(latest_run(db.subject))  # the request's own delete run

    db.refresh_from_db()
    assert db.status == RequestStatus.DELETED
    assert not ResourceRequest.objects.filter(pk=db.pk, status=RequestStatus.COMMITTED).exists()
    assert gitops.read_manifest("v1", "Namespace", "", "orders", environment="staging") is None
    assert gitops.read_manifest("argoproj.io/v1alpha1", "Application",
                                settings.PAVED_ARGOCD_NAMESPACE, "orders-api-staging",
                                environment="staging") is None  # fmt: skip
    repo = git_host().get_repository("team-orders", "orders-api")
    assert repo is not None
    assert LocalGitHost().is_archived(repo)
    assert not Entity.objects.filter(ref=service.ref).exists()
    assert not Location.objects.filter(pk=location.pk).exists()
    assert AuditEvent.objects.filter(action="component.decommissioned").exists()


def test_another_team_cannot_decommission(client: Client, outsider: User, service: Entity) -> None:
    client.force_login(outsider)
    url = f"/components/decommission?ref={service.ref}"
    assert client.get(url).status_code == 404
    assert client.post(url, {"ref": service.ref, "confirm": "orders-api"}).status_code == 404
    assert Entity.objects.filter(ref=service.ref).exists()
    assert not Run.objects.filter(subject=f"catalog.day2:{service.ref}").exists()
