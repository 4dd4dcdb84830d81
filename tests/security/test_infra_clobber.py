"""Infrastructure requests are bound to their component: a developer cannot point a request at
another team's namespace, nor write an object (claim, connection Secret, PushSecret,
ExternalSecret) another request writes, whatever the resource class, and the step that commits
refuses to overwrite (or delete) a file in the GitOps repository it did not write.

Everything runs against a real GitOps repository (the local git host) through the real views,
services and run engine. The victim: team-payments' PostgreSQL `payments-db` in its namespace
`payments` (annotated on the component), committed before each attack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from catalog.models import Entity
from infra import services
from infra.models import (
    Approval,
    ApprovalStatus,
    RequestObject,
    RequestStatus,
    ResourceClass,
    ResourceRequest,
)
from infra.presets import install_presets
from infra.validation import RequestSpec
from portal.providers.base import RepoRef
from portal.providers.gitops import GitOpsProvider
from portal.providers.local_git import LocalGitHost
from runs.models import Run, RunStatus
from runs.runner import StepSpec, start_run
from tests.conftest import make_member
from tests.infra.conftest import drive, latest_run

pytestmark = pytest.mark.django_db

VICTIM_PUSH = "environments/dev/payments/pushsecret.external-secrets.io/payments-db-connection.yaml"
VICTIM_CLAIM = (
    "environments/dev/payments/postgresqlinstance.database.platform.myorg.io/payments-db.yaml"
)
REDIS_CLAIM = "environments/dev/payments/redisinstance.cache.platform.myorg.io/payments-db.yaml"

REDIS_FORM = {
    "resource_class": "redis",
    "environment": "dev",
    "provider": "aws",
    "name": "payments-db",
    "param_tier": "standard",
    "param_region": "eu-west-1",
}


@pytest.fixture(autouse=True)
def gitops(settings: Any, tmp_path: Path) -> GitOpsProvider:
    if not ResourceClass.objects.exists():
        install_presets()
    settings.PAVED_GIT_PROVIDER = "local"
    settings.PAVED_GIT_LOCAL_ROOT = str(tmp_path / "git")
    settings.PAVED_GITOPS_REPO = "platform/gitops"
    settings.PAVED_CLUSTER_PROVIDER = "gitops"
    settings.PAVED_STEP_RETRY_BACKOFF_SECONDS = 0
    return GitOpsProvider()


@pytest.fixture
def orders_service(team: Entity) -> Entity:
    return Entity.objects.create(
        kind="Component", name="orders-service", owner_ref=team.ref, spec_type="service"
    )


@pytest.fixture
def payments_service(other_team: Entity) -> Entity:
    return Entity.objects.create(
        kind="Component",
        name="payments-service",
        owner_ref=other_team.ref,
        spec_type="service",
        metadata={
            "name": "payments-service",
            "annotations": {"backstage.io/kubernetes-namespace": "payments"},
        },
    )


@pytest.fixture
def victim(outsider: User, payments_service: Entity, gitops: GitOpsProvider) -> ResourceRequest:
    """team-payments' PostgreSQL, committed to the GitOps repository with its PushSecret."""
    spec = RequestSpec.from_document(
        {
            "resourceClass": "postgresql",
            "name": "payments-db",
            "environment": "dev",
            "component": "payments-service",
            "parameters": {"storageGB": 20, "tier": "standard", "region": "eu-west-1"},
        }
    )
    req = services.submit_request(spec=spec, actor=outsider)
    assert drive(latest_run(req.subject)).status == RunStatus.SUCCEEDED
    req.refresh_from_db()
    assert req.namespace == "payments"
    assert set(files(gitops)) >= {VICTIM_CLAIM, VICTIM_PUSH}
    return req


def repo(gitops: GitOpsProvider) -> RepoRef:
    return gitops.repository()


def files(gitops: GitOpsProvider) -> list[str]:
    return LocalGitHost().list_files(repo(gitops))


def commits(gitops: GitOpsProvider) -> int:
    return LocalGitHost().commit_count(repo(gitops))


def read(gitops: GitOpsProvider, path: str) -> bytes | None:
    return LocalGitHost().read_file(repo(gitops), path)


def errors(response: Any) -> str:
    form = response.context["form"]
    return " ".join(str(e) for errs in form.errors.values() for e in errs)


# --- (1) the clobber itself: another class, the same object names ---------------------------


def test_redis_request_overwriting_another_teams_postgres_push_secret_is_refused_in_the_form(
    client: Client,
    owner: User,
    orders_service: Entity,
    victim: ResourceRequest,
    gitops: GitOpsProvider,
) -> None:
    """The attack as found: a Redis request named like the PostgreSQL, in its namespace."""
    before, push = commits(gitops), read(gitops, VICTIM_PUSH)
    client.force_login(owner)
    response = client.post(
        "/infra/new/",
        {**REDIS_FORM, "component": orders_service.ref, "namespace": "payments"},
    )
    assert response.status_code == 422
    assert (
        "orders-service's resources go in its own namespace 'orders-service', not 'payments'"
        in errors(response)
    )
    assert ResourceRequest.objects.count() == 1
    assert Run.objects.filter(title__startswith="Provision redis").count() == 0
    assert commits(gitops) == before
    assert read(gitops, VICTIM_PUSH) == push


def test_redis_request_sharing_the_postgres_secrets_is_refused_whatever_the_class(
    client: Client, other_team: Entity, victim: ResourceRequest, gitops: GitOpsProvider
) -> None:
    """Even in its own namespace, a second request may not write the first one's Secret,
    PushSecret or ExternalSecret: the message names the object and the request in the way."""
    colleague = make_member("paula", other_team)
    before = commits(gitops)
    client.force_login(colleague)
    response = client.post(
        "/infra/new/", {**REDIS_FORM, "component": "component:default/payments-service"}
    )
    assert response.status_code == 422
    message = errors(response)
    assert (
        "its connection Secret payments/payments-db-secret would overwrite the connection "
        f"Secret of postgresql request 'payments-db' (#{victim.pk}, owned by "
        "group:default/team-payments) in dev; choose another name"
    ) in message
    assert "its PushSecret payments/payments-db-connection would overwrite" in message
    assert "its ExternalSecret payments/payments-db-connection would overwrite" in message
    assert ResourceRequest.objects.count() == 1
    assert RequestObject.objects.exclude(request=victim).count() == 0
    assert commits(gitops) == before
    assert REDIS_CLAIM not in files(gitops)


def test_a_push_secret_already_in_the_gitops_repository_is_not_overwritten_by_a_new_request(
    client: Client, owner: User, orders_service: Entity, gitops: GitOpsProvider
) -> None:
    """A file no request of ours wrote (by hand, another tool) is in the way too."""
    path = "environments/dev/orders-service/pushsecret.external-secrets.io/orders-cache-connection.yaml"
    LocalGitHost().commit_files(repo(gitops), {path: b"kind: PushSecret\n"}, message="by hand")
    before = commits(gitops)
    client.force_login(owner)
    response = client.post(
        "/infra/new/", {**REDIS_FORM, "name": "orders-cache", "component": orders_service.ref}
    )
    assert response.status_code == 422
    assert (
        "its PushSecret orders-service/orders-cache-connection is already in the GitOps "
        f"repository ({path}) and was not written for this request"
    ) in errors(response)
    assert ResourceRequest.objects.count() == 0
    assert commits(gitops) == before
    assert read(gitops, path) == b"kind: PushSecret\n"


# --- (2) another team's component or namespace -------------------------------------------------


def test_request_for_a_component_of_another_team_is_refused(
    client: Client,
    owner: User,
    payments_service: Entity,
    victim: ResourceRequest,
    gitops: GitOpsProvider,
) -> None:
    before = commits(gitops)
    client.force_login(owner)
    response = client.post(
        "/infra/new/", {**REDIS_FORM, "name": "sneaky", "component": payments_service.ref}
    )
    assert response.status_code == 422
    assert "you do not own payments-service (owned by group:default/team-payments)" in errors(
        response
    )
    assert ResourceRequest.objects.count() == 1
    assert commits(gitops) == before


def test_a_component_annotated_with_another_teams_namespace_cannot_request_there(
    client: Client,
    owner: User,
    orders_service: Entity,
    victim: ResourceRequest,
    gitops: GitOpsProvider,
) -> None:
    """The team edits its own catalog-info.yaml: pointing its namespace annotation at another
    team's namespace does not make that namespace its own."""
    orders_service.metadata = {"annotations": {"paved.dev/namespace": "payments"}}
    orders_service.save()
    before = commits(gitops)
    client.force_login(owner)
    response = client.post(
        "/infra/new/", {**REDIS_FORM, "name": "cache", "component": orders_service.ref}
    )
    assert response.status_code == 422
    assert (
        "namespace 'payments' is the namespace of payments-service, owned by "
        "group:default/team-payments; orders-service cannot put resources there"
    ) in errors(response)
    assert ResourceRequest.objects.count() == 1
    assert commits(gitops) == before


def test_a_namespace_labelled_for_another_team_in_gitops_is_refused(
    client: Client, owner: User, orders_service: Entity, gitops: GitOpsProvider
) -> None:
    """The golden path's Namespace in the GitOps repository names its team."""
    from portal.providers.base import NamespaceSpec

    gitops.ensure_namespace(
        NamespaceSpec(
            name="orders-service", owner_group="team-payments", service="x", environment="dev"
        )
    )
    before = commits(gitops)
    client.force_login(owner)
    response = client.post(
        "/infra/new/", {**REDIS_FORM, "name": "cache", "component": orders_service.ref}
    )
    assert response.status_code == 422
    assert "namespace 'orders-service' belongs to team-payments in dev" in errors(response)
    assert ResourceRequest.objects.count() == 0
    assert commits(gitops) == before


def test_a_template_step_naming_another_namespace_is_refused(
    owner: User, orders_service: Entity, victim: ResourceRequest, gitops: GitOpsProvider
) -> None:
    before = commits(gitops)
    run = start_run(
        kind="scaffolder",
        title="New service",
        steps=[
            StepSpec(
                "db",
                "infra:request",
                inputs={
                    "resourceClass": "redis",
                    "name": "payments-db",
                    "namespace": "payments",
                    "environment": "dev",
                    "component": "orders-service",
                    "parameters": {"tier": "standard", "region": "eu-west-1"},
                },
            )
        ],
        actor=owner,
    )
    assert drive(run).status == RunStatus.FAILED
    run.refresh_from_db()
    assert "the namespace follows from the component" in run.error
    assert ResourceRequest.objects.count() == 1
    assert commits(gitops) == before


def test_the_cli_refuses_another_namespace_for_a_component(
    orders_service: Entity, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "request.yaml"
    doc.write_text(
        yaml.safe_dump(
            {**{k: v for k, v in REDIS_FORM.items() if not k.startswith("param_")},
             "resourceClass": "redis", "namespace": "payments", "component": "orders-service",
             "parameters": {"tier": "standard", "region": "eu-west-1"}}
        )
    )  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        call_command("infra", "render", str(doc))
    assert exit_info.value.code == 1
    assert (
        "namespace: orders-service's resources go in its own namespace" in capsys.readouterr().err
    )


# --- (3) a stale approval or a race: the writing step itself refuses --------------------------


def _stale_redis_row(owner_ref: str, status: str) -> ResourceRequest:
    """A clashing request that got into the database without the checks (an approval given
    before the other request existed, a race): created directly."""
    return ResourceRequest.objects.create(
        resource_class=ResourceClass.objects.get(name="redis"),
        owner_ref=owner_ref,
        name="payments-db",
        namespace="payments",
        environment="dev",
        parameters={"tier": "standard", "region": "eu-west-1", "highAvailability": False},
        status=status,
    )


def _apply_run(req: ResourceRequest) -> Run:
    rc = req.resource_class
    target = {"request_id": req.pk, "api_version": rc.api_version, "kind": rc.kind,
              "namespace": req.namespace, "name": req.name, "environment": req.environment}  # fmt: skip
    return start_run(
        kind="infra",
        title=f"Provision redis {req.name} (dev)",
        steps=[
            StepSpec(
                "apply",
                "infra:apply-claim",
                "Commit the claim",
                inputs={**target, "parameters": req.parameters, "provider": "aws"},
            ),
        ],
        actor=None,
        context={"request_id": req.pk, "action": "create", "stage": "apply"},
        subject=req.subject,
        owner_ref=req.owner_ref,
    )


def test_stale_clashing_request_fails_at_the_writing_step_and_writes_nothing(
    victim: ResourceRequest, gitops: GitOpsProvider
) -> None:
    stale = _stale_redis_row(victim.owner_ref, RequestStatus.PROVISIONING)
    before, push = commits(gitops), read(gitops, VICTIM_PUSH)
    run = drive(_apply_run(stale))
    assert run.status == RunStatus.FAILED
    assert f"refusing to write request #{stale.pk}: its connection Secret" in run.error
    assert f"postgresql request 'payments-db' (#{victim.pk}" in run.error
    assert commits(gitops) == before
    assert read(gitops, VICTIM_PUSH) == push
    assert REDIS_CLAIM not in files(gitops)
    assert not RequestObject.objects.filter(request=stale).exists()


def test_stale_clashing_request_cannot_delete_the_other_requests_push_secret(
    client: Client, other_team: Entity, victim: ResourceRequest, gitops: GitOpsProvider
) -> None:
    """Its create failed; deleting it must not take the PushSecret (and so the store entry)
    of the request whose names it shares."""
    stale = _stale_redis_row(victim.owner_ref, RequestStatus.FAILED)
    colleague = make_member("paula", other_team)
    client.force_login(colleague)
    response = client.post(f"/infra/requests/{stale.pk}/delete", {"confirm": "payments-db"})
    assert response.status_code == 302
    run = drive(latest_run(stale.subject))
    assert run.status == RunStatus.SUCCEEDED
    assert read(gitops, VICTIM_PUSH) is not None
    assert read(gitops, VICTIM_CLAIM) is not None


def test_a_stale_approval_is_refused_when_approved(
    client: Client, platform_admin: User, victim: ResourceRequest, gitops: GitOpsProvider
) -> None:
    stale = _stale_redis_row(victim.owner_ref, RequestStatus.AWAITING_APPROVAL)
    approval = Approval.objects.create(
        request=stale, action="create", parameters=stale.parameters, approvers="either"
    )
    before = commits(gitops)
    client.force_login(platform_admin)
    response = client.post(f"/infra/approvals/{approval.pk}/decide", {"decision": "approve"})
    assert response.status_code == 422
    assert b"its PushSecret payments/payments-db-connection would overwrite" in response.content
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    assert not Run.objects.filter(subject=stale.subject).exists()
    assert commits(gitops) == before


def test_a_file_that_appeared_after_the_request_is_not_overwritten_by_its_step(
    owner: User, orders_service: Entity, gitops: GitOpsProvider
) -> None:
    """Race: between the request's checks and its commit, someone else wrote its PushSecret."""
    spec = RequestSpec.from_document(
        {"resourceClass": "redis", "name": "orders-cache", "environment": "dev",
         "component": "orders-service", "parameters": {"tier": "standard", "region": "eu-west-1"}}
    )  # fmt: skip
    req = services.submit_request(spec=spec, actor=owner)
    path = "environments/dev/orders-service/pushsecret.external-secrets.io/orders-cache-connection.yaml"
    LocalGitHost().commit_files(repo(gitops), {path: b"kind: PushSecret\n"}, message="meanwhile")
    before = commits(gitops)
    run = drive(latest_run(req.subject))
    assert run.status == RunStatus.FAILED
    assert (
        "refusing to overwrite PushSecret orders-service/orders-cache-connection in dev: "
        f"{path} is already in the GitOps repository and was not written for request #{req.pk}"
    ) in run.error
    assert commits(gitops) == before
    assert read(gitops, path) == b"kind: PushSecret\n"


def test_a_legitimate_request_still_rewrites_its_own_files(
    outsider: User, victim: ResourceRequest, gitops: GitOpsProvider
) -> None:
    req = services.resize_request(request=victim, actor=outsider, size=40)
    assert drive(latest_run(req.subject)).status == RunStatus.SUCCEEDED
    claim = yaml.safe_load(read(gitops, VICTIM_CLAIM) or b"")
    assert claim["spec"]["parameters"]["storageGB"] == 40


def test_the_admin_cannot_add_or_repoint_a_request(
    client: Client, platform_admin: User, victim: ResourceRequest
) -> None:
    """Requests change only through the services; admin shows them, and their names, read-only."""
    client.force_login(platform_admin)
    assert client.get("/admin/infra/resourcerequest/add/").status_code == 403
    page = client.get(f"/admin/infra/resourcerequest/{victim.pk}/change/")
    assert page.status_code == 200
    assert VICTIM_PUSH.encode() in page.content
    response = client.post(
        f"/admin/infra/resourcerequest/{victim.pk}/change/", {"namespace": "orders-service"}
    )
    assert response.status_code == 403
    victim.refresh_from_db()
    assert victim.namespace == "payments"
