"""The request flow on the run engine: check -> (approval) -> apply -> ready -> connection,
and day-2 changes, each as its own run. Runs are driven in this process as a worker would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User

from catalog.models import Entity
from infra import services
from infra.models import (
    Approval,
    ApprovalStatus,
    RequestEvent,
    RequestStatus,
    ResourceRequest,
)
from infra.validation import RequestInvalid, RequestSpec
from runs.models import Run, RunStatus
from runs.runner import retry_run
from tests.infra.cluster import manifest_path, set_conditions
from tests.infra.conftest import SEED_CLAIM, SEED_REQUEST, drive, latest_run

pytestmark = pytest.mark.django_db


def spec(**overrides: Any) -> RequestSpec:
    doc = {**SEED_REQUEST, "component": "orders-service", **overrides}
    return RequestSpec.from_document(doc)


def dev_spec(**overrides: Any) -> RequestSpec:
    return spec(environment="dev", **overrides)


def claim_on_disk(environment: str, name: str = "orders-db") -> dict[str, Any]:
    path = manifest_path(environment, "PostgreSQLInstance", "orders-service", name)
    return yaml.safe_load(path.read_text())


def test_dev_request_needs_no_approval_and_becomes_ready(
    owner: User, orders_service: Entity, cluster_dir: Path
) -> None:
    req = services.submit_request(spec=dev_spec(), actor=owner)
    assert req.status == RequestStatus.PROVISIONING
    assert not req.approvals.exists()
    run = drive(latest_run(req.subject))
    assert run.status == RunStatus.SUCCEEDED
    assert [s.key for s in run.steps.all()] == ["policy", "apply", "ready", "connection"]
    req.refresh_from_db()
    assert req.status == RequestStatus.READY
    assert req.connection_secret_name == "orders-db-secret"
    assert req.fulfilled_without_human is True
    assert req.needed_approval is False
    assert req.time_to_ready is not None
    assert req.ready_at is not None
    assert req.owner_ref == "group:default/team-orders"
    assert req.monthly_cost > 0
    claim = claim_on_disk("dev")
    assert claim["spec"]["compositionSelector"] == {
        "matchLabels": {"provider": "aws", "environment": "dev"}
    }
    assert run.steps.get(key="connection").outputs["secret_name"] == "orders-db-secret"


def test_production_request_waits_for_approval_without_a_running_run(
    owner: User, team_lead: User, orders_service: Entity, cluster_dir: Path
) -> None:
    req = services.submit_request(spec=spec(), actor=owner)
    assert req.status == RequestStatus.AWAITING_APPROVAL
    check = drive(latest_run(req.subject))
    # The first run ends; nothing polls while a person decides.
    assert check.status == RunStatus.SUCCEEDED
    assert check.steps.get(key="approval").outputs["status"] == "waiting for approval"
    assert not manifest_path(
        "production", "PostgreSQLInstance", "orders-service", "orders-db"
    ).exists()
    req.refresh_from_db()
    assert req.status == RequestStatus.AWAITING_APPROVAL
    approval = req.approvals.get()
    apply_run = services.approve_request(approval=approval, actor=team_lead, comment="ok")
    assert apply_run.pk != check.pk
    drive(apply_run)
    req.refresh_from_db()
    assert req.status == RequestStatus.READY
    assert req.needed_approval is True
    assert req.fulfilled_without_human is False  # a person approved it: not self-service
    assert claim_on_disk("production") == SEED_CLAIM
    # Committed in the seed's field order, although parameters passed through JSONB.
    text = manifest_path(
        "production", "PostgreSQLInstance", "orders-service", "orders-db"
    ).read_text()
    assert text.startswith(
        "apiVersion: database.platform.myorg.io/v1alpha1\nkind: PostgreSQLInstance\n"
    )
    positions = [text.index(key) for key in ("storageGB", "tier:", "region", "backupEnabled")]
    assert positions == sorted(positions)
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by, approval.comment) == ("approved", team_lead, "ok")
    assert list(req.events.values_list("action", flat=True).order_by("id")) == [
        "requested",
        "approved",
        "applied",
    ]


def test_requester_and_plain_members_cannot_approve(
    owner: User, orders_service: Entity, team: Entity, cluster_dir: Path
) -> None:
    from tests.conftest import make_member

    colleague = make_member("colin", team)
    req = services.submit_request(spec=spec(), actor=owner)
    approval = req.approvals.get()
    with pytest.raises(services.ActionDenied, match="someone else must approve"):
        services.approve_request(approval=approval, actor=owner)
    with pytest.raises(services.ActionDenied, match="platform admin or the lead"):
        services.approve_request(approval=approval, actor=colleague)
    assert Run.objects.filter(subject=req.subject).count() == 1


def test_rejection_ends_the_request_with_the_reason(
    owner: User, platform_admin: User, orders_service: Entity, cluster_dir: Path
) -> None:
    req = services.submit_request(spec=spec(), actor=owner)
    approval = req.approvals.get()
    with pytest.raises(RequestInvalid, match="say why"):
        services.reject_request(approval=approval, actor=platform_admin, comment=" ")
    services.reject_request(approval=approval, actor=platform_admin, comment="use dev first")
    req.refresh_from_db()
    assert req.status == RequestStatus.REJECTED
    assert req.status_message == "use dev first"
    # The name is free again.
    services.submit_request(spec=spec(), actor=owner)


def test_pending_request_stays_visible_and_can_be_withdrawn(
    owner: User, orders_service: Entity, cluster_dir: Path
) -> None:
    req = services.submit_request(spec=spec(), actor=owner)
    drive(latest_run(req.subject))
    services.cancel_request(request=req, actor=owner)
    req.refresh_from_db()
    assert req.status == RequestStatus.CANCELLED
    assert req.approvals.get().status == ApprovalStatus.CANCELLED
    with pytest.raises(RequestInvalid, match="nothing is waiting"):
        services.cancel_request(request=req, actor=owner)


def test_bad_requests_write_nothing(
    owner: User, outsider: User, orders_service: Entity, cluster_dir: Path
) -> None:
    cases = [
        (owner, dev_spec(parameters={"storageGB": 2000, "tier": "standard", "region": "eu-west-1"}),
         "parameters.storageGB: must be between 10 and 1000 (got 2000)"),
        (owner, dev_spec(parameters={"storageGB": 20, "tier": "standard", "region": "eu-west-1", "size": "xl"}),
         "parameters.size: unknown parameter"),
        (outsider, dev_spec(), "component: you do not own orders-service (owned by group:default/team-orders)"),
        (owner, dev_spec(component="nope"), "component: unknown component 'nope'"),
    ]  # fmt: skip
    for actor, bad, message in cases:
        with pytest.raises(RequestInvalid) as excinfo:
            services.submit_request(spec=bad, actor=actor)
        assert any(str(p).startswith(message) for p in excinfo.value.problems), excinfo.value
    assert ResourceRequest.objects.count() == 0
    assert Run.objects.count() == 0
    assert Approval.objects.count() == 0


def test_name_clash_and_quota(owner: User, orders_service: Entity, cluster_dir: Path) -> None:
    from infra.models import Policy

    services.submit_request(spec=dev_spec(), actor=owner)
    with pytest.raises(RequestInvalid, match="already exists in namespace orders-service"):
        services.submit_request(spec=dev_spec(), actor=owner)
    Policy.objects.filter(environment="dev").update(max_resources_per_team=1)
    with pytest.raises(RequestInvalid, match="already has 1 of its 1 resources in dev"):
        services.submit_request(spec=dev_spec(name="orders-db-2"), actor=owner)
    assert ResourceRequest.objects.count() == 1


def _ready_dev(owner: User) -> ResourceRequest:
    req = services.submit_request(spec=dev_spec(), actor=owner)
    drive(latest_run(req.subject))
    req.refresh_from_db()
    assert req.status == RequestStatus.READY
    return req


def test_resize_grows_in_a_new_run_and_refuses_to_shrink(
    owner: User, orders_service: Entity, cluster_dir: Path
) -> None:
    req = _ready_dev(owner)
    cost_before = req.monthly_cost
    req = services.resize_request(request=req, actor=owner, size=50)
    assert req.status == RequestStatus.UPDATING
    run = drive(latest_run(req.subject))
    assert run.title.startswith("Change postgresql orders-db")
    req.refresh_from_db()
    assert req.status == RequestStatus.READY
    assert req.parameters["storageGB"] == 50
    assert req.monthly_cost > cost_before
    assert claim_on_disk("dev")["spec"]["parameters"]["storageGB"] == 50
    with pytest.raises(
        RequestInvalid, match="shrinking from 50 to 30 is not allowed for postgresql"
    ):
        services.resize_request(request=req, actor=owner, size=30)
    assert Run.objects.filter(subject=req.subject).count() == 2


def test_a_second_click_on_a_stale_page_starts_no_second_change(
    owner: User, orders_service: Entity, cluster_dir: Path
) -> None:
    req = _ready_dev(owner)
    stale = ResourceRequest.objects.get(pk=req.pk)  # what the second request still believes
    services.resize_request(request=req, actor=owner, size=50)
    with pytest.raises(RequestInvalid, match="it is updating; wait until it is ready"):
        services.resize_request(request=stale, actor=owner, size=60)
    with pytest.raises(RequestInvalid, match="it is updating"):
        services.delete_request(request=stale, actor=owner, confirm=stale.name)
    assert Run.objects.filter(subject=req.subject).count() == 2  # create + one change


def test_shrink_is_allowed_when_the_class_says_so(
    owner: User, orders_service: Entity, cluster_dir: Path
) -> None:
    from infra.models import ResourceClass

    ResourceClass.objects.filter(name="postgresql").update(allow_shrink=True)
    req = _ready_dev(owner)
    services.resize_request(request=req, actor=owner, size=10)
    drive(latest_run(req.subject))
    req.refresh_from_db()
    assert req.parameters["storageGB"] == 10


def test_change_tier(owner: User, orders_service: Entity, cluster_dir: Path) -> None:
    req = _ready_dev(owner)
    with pytest.raises(RequestInvalid, match="already standard"):
        services.change_tier(request=req, actor=owner, tier="standard")
    with pytest.raises(RequestInvalid, match="'platinum' is not one of"):
        services.change_tier(request=req, actor=owner, tier="platinum")
    services.change_tier(request=req, actor=owner, tier="large")
    drive(latest_run(req.subject))
    req.refresh_from_db()
    assert req.parameters["tier"] == "large"
    assert claim_on_disk("dev")["spec"]["parameters"]["tier"] == "large"


def test_delete_needs_the_name_and_is_blocked_by_deletion_protection(
    owner: User, orders_service: Entity, cluster_dir: Path
) -> None:
    req = _ready_dev(owner)
    services.set_deletion_protection(request=req, actor=owner, enabled=True)
    with pytest.raises(RequestInvalid, match="deletion protection is on"):
        services.delete_request(request=req, actor=owner, confirm="orders-db")
    services.set_deletion_protection(request=req, actor=owner, enabled=False)
    with pytest.raises(RequestInvalid, match="type 'orders-db' to confirm"):
        services.delete_request(request=req, actor=owner, confirm="orders")
    services.delete_request(request=req, actor=owner, confirm="orders-db")
    req.refresh_from_db()
    assert req.status == RequestStatus.DELETING
    run = drive(latest_run(req.subject))
    assert [s.key for s in run.steps.all()] == ["delete"]
    req.refresh_from_db()
    assert req.status == RequestStatus.DELETED
    assert req.monthly_cost == 0
    assert not manifest_path("dev", "PostgreSQLInstance", "orders-service", "orders-db").exists()


def test_production_tier_starts_with_deletion_protection_and_deletion_needs_approval(
    owner: User, platform_admin: User, orders_service: Entity, cluster_dir: Path
) -> None:
    req = services.submit_request(spec=spec(), actor=owner)
    assert req.deletion_protection is True
    services.approve_request(approval=req.approvals.get(), actor=platform_admin)
    drive(latest_run(req.subject))
    req.refresh_from_db()
    services.set_deletion_protection(request=req, actor=owner, enabled=False)
    services.delete_request(request=req, actor=owner, confirm="orders-db")
    req.refresh_from_db()
    assert req.status == RequestStatus.READY  # still there until someone approves
    approval = req.approvals.get(status="pending")
    assert approval.action == "delete"
    services.approve_request(approval=approval, actor=platform_admin)
    drive(latest_run(req.subject))
    req.refresh_from_db()
    assert req.status == RequestStatus.DELETED


def test_outsider_cannot_change_someone_elses_resource(
    owner: User, outsider: User, orders_service: Entity, cluster_dir: Path
) -> None:
    req = _ready_dev(owner)
    for call in (
        lambda: services.resize_request(request=req, actor=outsider, size=100),
        lambda: services.delete_request(request=req, actor=outsider, confirm="orders-db"),
        lambda: services.set_deletion_protection(request=req, actor=outsider, enabled=True),
    ):
        with pytest.raises(
            services.ActionDenied, match="Only members of group:default/team-orders"
        ):
            call()


def test_gitops_provider_records_committed_and_finishes(
    owner: User, orders_service: Entity, cluster_dir: Path, settings: Any
) -> None:
    settings.PAVED_CLUSTER_PROVIDER = "gitops-test"
    req = services.submit_request(spec=dev_spec(), actor=owner)
    run = drive(latest_run(req.subject))
    assert run.steps.get(key="ready").outputs["phase"] == "Committed"
    req.refresh_from_db()
    assert req.status == RequestStatus.COMMITTED
    assert "waiting for Argo CD" in req.status_message


def test_a_committed_request_says_plainly_that_committing_is_the_final_state_here(
    owner: User, owner_client: Any, orders_service: Entity, cluster_dir: Path, settings: Any
) -> None:
    settings.PAVED_CLUSTER_PROVIDER = "gitops-test"
    req = services.submit_request(spec=dev_spec(), actor=owner)
    drive(latest_run(req.subject))
    page = owner_client.get(f"/infra/requests/{req.pk}/").content.decode()
    settings.PAVED_CLUSTER_PROVIDER = "gitops"  # the embedded setup: no cluster connected
    embedded = owner_client.get(f"/infra/requests/{req.pk}/").content.decode()
    assert "Committed to GitOps" in embedded
    assert 'data-testid="final-state"' in embedded
    assert "No cluster is connected to this Paved" in embedded
    assert 'data-testid="final-state"' not in page
    assert "Time to commit" in embedded
    assert "self-service" in embedded  # a dev database needs nobody's approval


def test_a_failed_commit_is_retried(owner: User, orders_service: Entity, cluster_dir: Path) -> None:
    (cluster_dir / "fail-apply").write_text("2")
    req = services.submit_request(spec=dev_spec(), actor=owner)
    run = drive(latest_run(req.subject))
    assert run.status == RunStatus.SUCCEEDED
    assert run.steps.get(key="apply").attempt == 3
    assert "Retrying" in "\n".join(run.log_lines.values_list("message", flat=True))


def test_crossplane_error_fails_the_run_and_a_human_retry_is_not_self_service(
    owner: User, orders_service: Entity, cluster_dir: Path
) -> None:
    bad = [{"type": "Synced", "status": "False", "reason": "ReconcileError", "message": "no creds"}]
    set_conditions("dev", "PostgreSQLInstance", "orders-service", "orders-db", bad)
    req = services.submit_request(spec=dev_spec(), actor=owner)
    run = drive(latest_run(req.subject))
    assert run.status == RunStatus.FAILED
    assert "Crossplane reports an error: no creds" in run.error
    req.refresh_from_db()
    assert req.status == RequestStatus.FAILED
    set_conditions("dev", "PostgreSQLInstance", "orders-service", "orders-db", [
        {"type": "Synced", "status": "True"}, {"type": "Ready", "status": "True"}])  # fmt: skip
    retry_run(run, actor=owner)
    drive(run)
    req.refresh_from_db()
    assert req.status == RequestStatus.READY
    assert req.fulfilled_without_human is False


def test_not_ready_in_time_retries_then_fails_with_a_message(
    owner: User, orders_service: Entity, cluster_dir: Path, settings: Any
) -> None:
    settings.PAVED_STEP_MAX_ATTEMPTS = 2
    creating = [
        {"type": "Synced", "status": "True"},
        {"type": "Ready", "status": "False", "reason": "Creating"},
    ]
    set_conditions("dev", "PostgreSQLInstance", "orders-service", "orders-db", creating)
    req = services.submit_request(spec=dev_spec(), actor=owner)
    run = drive(latest_run(req.subject))
    assert run.status == RunStatus.FAILED
    assert "not ready after" in run.error
    assert "Provisioning Creating" in run.error
    assert "gave up after 2 attempts" in run.error


def test_history_records_every_action(
    owner: User, orders_service: Entity, cluster_dir: Path
) -> None:
    req = _ready_dev(owner)
    services.resize_request(request=req, actor=owner, size=40)
    actions = list(
        RequestEvent.objects.filter(request=req).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["requested", "applied", "change-requested"]
    assert all(e.run_id for e in req.events.all())


def test_production_resize_waits_for_approval_and_rejection_keeps_the_resource(
    owner: User, platform_admin: User, orders_service: Entity, cluster_dir: Path
) -> None:
    req = services.submit_request(spec=spec(), actor=owner)
    services.approve_request(approval=req.approvals.get(), actor=platform_admin)
    drive(latest_run(req.subject))
    req.refresh_from_db()
    req = services.resize_request(request=req, actor=owner, size=100)
    assert req.status == RequestStatus.READY  # unchanged until approved
    with pytest.raises(RequestInvalid, match="another change is waiting for approval"):
        services.change_tier(request=req, actor=owner, tier="large")
    services.reject_request(
        approval=req.approvals.get(status="pending"), actor=platform_admin, comment="too big"
    )
    req.refresh_from_db()
    assert (req.status, req.parameters["storageGB"]) == (RequestStatus.READY, 20)
    req = services.resize_request(request=req, actor=owner, size=40)
    services.approve_request(approval=req.approvals.get(status="pending"), actor=platform_admin)
    req.refresh_from_db()
    assert req.status == RequestStatus.UPDATING
    drive(latest_run(req.subject))
    req.refresh_from_db()
    assert (req.status, req.parameters["storageGB"]) == (RequestStatus.READY, 40)
    assert claim_on_disk("production")["spec"]["parameters"]["storageGB"] == 40


def test_cancelling_the_runs_cancels_the_request(
    owner: User, orders_service: Entity, cluster_dir: Path
) -> None:
    from runs.runner import cancel_run

    req = services.submit_request(spec=spec(), actor=owner)  # production: approval run
    cancel_run(latest_run(req.subject), actor=owner)
    req.refresh_from_db()
    assert req.status == RequestStatus.CANCELLED
    assert req.approvals.get().status == ApprovalStatus.CANCELLED
    other = services.submit_request(spec=dev_spec(), actor=owner)  # dev: apply run
    cancel_run(latest_run(other.subject), actor=owner)
    other.refresh_from_db()
    assert other.status == RequestStatus.CANCELLED


def test_request_history_is_in_the_audit_trail(owner: User, orders_service: Entity) -> None:
    from portal.models import AuditEvent

    req = services.submit_request(spec=dev_spec(name="audited-db"), actor=owner)
    actions = set(
        AuditEvent.objects.filter(
            target_type="infra.resourcerequest", target_id=str(req.pk)
        ).values_list("action", flat=True)
    )
    assert any(a.startswith("infra.request.") for a in actions), actions
    assert AuditEvent.objects.filter(actor=owner, action__startswith="infra.request.").exists()


def test_connection_secret_reaches_services_through_the_secret_store(
    owner: User, orders_service: Entity, cluster_dir: Path, settings: Any, client: Any
) -> None:
    """Crossplane's connection Secret is pushed into the platform's ClusterSecretStore next to
    the claim (one commit/apply), and the service reads it back with an ExternalSecret, the way
    the golden path's skeleton reads the service's own secrets."""
    settings.PAVED_CLUSTER_SECRET_STORE = "vault-prod"
    req = _ready_dev(owner)
    push_path = manifest_path("dev", "PushSecret", "orders-service", "orders-db-connection")
    push = yaml.safe_load(push_path.read_text())
    assert push["apiVersion"] == "external-secrets.io/v1alpha1"
    assert push["spec"]["secretStoreRefs"] == [{"kind": "ClusterSecretStore", "name": "vault-prod"}]
    assert push["spec"]["selector"] == {"secret": {"name": "orders-db-secret"}}
    remote = "dev/orders-service/orders-db-secret"
    assert push["spec"]["data"] == [
        {"match": {"secretKey": key, "remoteRef": {"remoteKey": remote, "property": key}}}
        for key in req.resource_class.connection_secret_keys
    ]
    outputs = latest_run(req.subject).steps.get(key="connection").outputs
    external = outputs["external_secret"]
    assert outputs["store_key"] == remote
    assert external["apiVersion"] == "external-secrets.io/v1"
    assert external["kind"] == "ExternalSecret"
    assert external["spec"]["secretStoreRef"] == {
        "kind": "ClusterSecretStore",
        "name": "vault-prod",
    }
    assert external["spec"]["dataFrom"][0]["extract"] == {"key": remote}
    assert external["spec"]["target"]["name"] == "orders-db-connection"
    # The request page shows the ExternalSecret to add to the service's manifests.
    client.force_login(owner)
    page = client.get(f"/infra/requests/{req.pk}/").content.decode()
    assert "kind: ExternalSecret" in page
    assert "key: dev/orders-service/orders-db-secret" in page
    assert "name: orders-db-connection" in page

    services.delete_request(request=req, actor=owner, confirm="orders-db")
    drive(latest_run(req.subject))
    assert not push_path.exists()  # its deletionPolicy empties the store entry


def test_connection_push_can_be_turned_off(
    owner: User, orders_service: Entity, cluster_dir: Path, settings: Any
) -> None:
    settings.PAVED_INFRA_PUSH_CONNECTION_SECRETS = False
    _ready_dev(owner)
    assert claim_on_disk("dev")["kind"] == "PostgreSQLInstance"
    assert not manifest_path("dev", "PushSecret", "orders-service", "orders-db-connection").exists()
