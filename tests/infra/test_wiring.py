"""When a database claim is committed, Paved opens a pull request on the service's repository
that makes it read the connection secret: the ExternalSecret in deploy/k8s, listed in the
kustomization, and `envFrom` in the Rollout. Checked on the golden path's real manifests with
`kubectl kustomize`, on the local git host, through the request's run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User

from catalog.models import Entity
from infra import services
from infra.crossplane import render_connection_external_secret, to_yaml
from infra.models import RequestStatus
from infra.validation import RequestSpec
from infra.wiring import CannotWire, plan_wiring, wire_kustomization, wire_workload
from portal.providers import git_host
from runs.models import RunStatus
from tests.infra.conftest import SEED_REQUEST, drive, latest_run
from tests.scaffolder.golden import Variant, kustomize, render
from tests.schemas.validate import ControlPlane

pytestmark = pytest.mark.django_db

SLUG = "team-orders/orders-service"


def _external(environment: str = "dev") -> dict[str, Any]:
    return render_connection_external_secret(
        name="orders-db", namespace="orders-service", environment=environment, store="vault"
    )


def _deploy_files(tree: Path) -> dict[str, bytes]:
    return {
        p.relative_to(tree).as_posix(): p.read_bytes()
        for p in sorted((tree / "deploy").rglob("*.yaml"))
    }


@pytest.fixture(scope="module")
def golden_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(Variant(True, True, ("none", "platform"), False, name="orders-service"),
                  tmp_path_factory.mktemp("golden"))  # fmt: skip


@pytest.mark.parametrize("canary", [True, False])
def test_the_golden_path_service_reads_the_secret_after_the_change(
    canary: bool, tmp_path: Path
) -> None:
    tree = render(Variant(canary, True, ("none", "platform"), False, name="orders-service"),
                  tmp_path / "svc")  # fmt: skip
    external = _external()
    wiring = plan_wiring(_deploy_files(tree), external_secret=external, yaml_text=to_yaml(external))
    assert sorted(wiring.files) == [
        "deploy/k8s/kustomization.yaml",
        "deploy/k8s/orders-db-connection.externalsecret.yaml",
        "deploy/k8s/rollout.yaml",
    ]
    assert not any("comments were lost" in note for note in wiring.notes)
    for path, data in wiring.files.items():
        (tree / path).write_bytes(data)
    built = kustomize(tree / "deploy/k8s")
    rollout = next(d for d in built if d["kind"] == "Rollout")
    container = rollout["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [
        {"secretRef": {"name": "orders-db-connection"}},
        {"secretRef": {"name": "orders-service-secrets", "optional": True}},
    ]
    secrets = {d["metadata"]["name"]: d for d in built if d["kind"] == "ExternalSecret"}
    assert secrets["orders-db-connection"]["spec"]["dataFrom"] == [
        {
            "extract": {"key": "dev/orders-service/orders-db-secret"},
            "rewrite": [{"transform": {"template": "ORDERS_DB_{{ .value | upper }}"}}],
        }
    ]
    assert secrets["orders-db-connection"]["metadata"]["namespace"] == "orders-service"
    # What Argo CD applies after the merge is valid against the published schemas (Argo
    # Rollouts, External Secrets, core kinds), strictly.
    assert ControlPlane().check_all(built) == len(built)
    # The team's comments stay where they were.
    rollout_text = (tree / "deploy/k8s/rollout.yaml").read_text()
    assert "# Written by External Secrets Operator from externalsecret.yaml" in rollout_text
    assert "# The image Argo CD deploys." in (tree / "deploy/k8s/kustomization.yaml").read_text()
    # Planned again on the changed files: nothing left to do.
    assert plan_wiring(_deploy_files(tree), external_secret=external,
                       yaml_text=to_yaml(external)).files == {}  # fmt: skip


def test_a_workload_without_env_from_gets_one_and_flow_style_is_rewritten() -> None:
    plain = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: web  # the app\n          image: web:1\n"
    )
    text, rewritten = wire_workload(plain, "db-connection") or ("", True)
    assert not rewritten
    assert "# the app" in text
    doc = yaml.safe_load(text)
    assert doc["spec"]["template"]["spec"]["containers"][0]["envFrom"] == [
        {"secretRef": {"name": "db-connection"}}
    ]
    flow = "kind: Deployment\nspec: {template: {spec: {containers: [{name: web, envFrom: []}]}}}\n"
    text, rewritten = wire_workload(flow, "db-connection") or ("", False)
    assert rewritten
    assert yaml.safe_load(text)["spec"]["template"]["spec"]["containers"][0]["envFrom"] == [
        {"secretRef": {"name": "db-connection"}}
    ]
    with pytest.raises(CannotWire, match="no Rollout or Deployment"):
        wire_workload("kind: Service\n", "x")
    with pytest.raises(CannotWire, match="no Rollout or Deployment under deploy/"):
        plan_wiring({"deploy/a.yaml": b"kind: Service\n"}, external_secret=_external(),
                    yaml_text="")  # fmt: skip


def test_kustomization_lists_the_file_once_keeping_comments() -> None:
    text = "# ours\nresources:\n  - a.yaml\n  # b is next\n  - b.yaml\nimages: []\n"
    changed, rewritten = wire_kustomization(text, "c.yaml") or ("", True)
    assert not rewritten
    assert (
        changed
        == "# ours\nresources:\n  - a.yaml\n  # b is next\n  - b.yaml\n  - c.yaml\nimages: []\n"
    )
    assert wire_kustomization(changed, "c.yaml") is None
    assert yaml.safe_load(wire_kustomization("namespace: x\n", "c.yaml")[0])["resources"] == [
        "c.yaml"
    ]


# --- through the request's run, on the local git host ------------------------------------------


@pytest.fixture
def service_repo(settings: Any, tmp_path: Path, golden_tree: Path, orders_service: Entity) -> Any:
    """orders-service's repository, as the golden path created it, named by its component."""
    settings.PAVED_GIT_PROVIDER = "local"
    settings.PAVED_GIT_LOCAL_ROOT = tmp_path / "git"
    host = git_host()
    repo, _ = host.ensure_repository("team-orders", "orders-service")
    files = {p.relative_to(golden_tree).as_posix(): p.read_bytes()
             for p in golden_tree.rglob("*") if p.is_file() and ".git" not in p.parts}  # fmt: skip
    host.commit_files(repo, files, message="Create orders-service")
    orders_service.metadata = {"annotations": {"localhost/project-slug": SLUG}}
    orders_service.save()
    return repo


def _spec(**overrides: Any) -> RequestSpec:
    return RequestSpec.from_document({**SEED_REQUEST, "component": "orders-service", **overrides})


def test_committing_a_database_opens_the_wiring_pull_request(
    owner: User, owner_client: Any, service_repo: Any, cluster_dir: Path, settings: Any
) -> None:
    settings.PAVED_CLUSTER_PROVIDER = "gitops-test"
    host: Any = git_host()
    before = host.read_file(service_repo, "deploy/k8s/rollout.yaml")
    req = services.submit_request(spec=_spec(environment="dev"), actor=owner)
    run = drive(latest_run(req.subject))
    assert run.status == RunStatus.SUCCEEDED, list(run.steps.values_list("key", "error"))
    assert [s.key for s in run.steps.all()][-1] == "wire"
    req.refresh_from_db()
    assert req.status == RequestStatus.COMMITTED  # its final state without a cluster

    (pull,) = host.list_pull_requests(service_repo)
    assert pull.is_open
    assert pull.head == f"paved/connect-orders-db-dev-{req.pk}"
    assert pull.base == "main"
    # The default branch is untouched; the branch carries the change.
    assert host.read_file(service_repo, "deploy/k8s/rollout.yaml") == before
    rollout = yaml.safe_load(host.read_file(service_repo, "deploy/k8s/rollout.yaml", ref=pull.head))
    assert rollout["spec"]["template"]["spec"]["containers"][0]["envFrom"][0] == {
        "secretRef": {"name": "orders-db-connection"}
    }
    assert host.read_file(service_repo, "deploy/k8s/orders-db-connection.externalsecret.yaml",
                          ref=pull.head)  # fmt: skip

    page = owner_client.get(f"/infra/requests/{req.pk}/").content.decode()
    assert 'data-testid="wiring-pr"' in page
    assert f"pull request #{pull.number} on {SLUG}" in page
    assert 'data-testid="connection-yaml"' not in page  # nothing to copy

    # Running the step again (a retry) reuses the branch and the pull request.
    wire = run.steps.get(key="wire")
    from runs.models import Step, StepStatus
    from runs.runner import execute_step

    Step.objects.filter(pk=wire.pk).update(status=StepStatus.PENDING, claimed_by="")
    execute_step(wire.pk)
    assert len(host.list_pull_requests(service_repo)) == 1


def test_an_approved_request_opens_it_with_the_requesters_authority(
    owner: User, team_lead: User, service_repo: Any, cluster_dir: Path
) -> None:
    req = services.submit_request(spec=_spec(), actor=owner)  # production: a lead approves
    drive(latest_run(req.subject))
    run = services.approve_request(approval=req.approvals.get(), actor=team_lead)
    assert run.requested_by == owner
    run = drive(run)
    assert run.status == RunStatus.SUCCEEDED, list(run.steps.values_list("key", "error"))
    assert run.steps.get(key="wire").outputs["pullRequestNumber"] == 1


def test_no_repository_or_no_manifests_keeps_the_yaml_on_the_page(
    owner: User, owner_client: Any, service_repo: Any, cluster_dir: Path
) -> None:
    host: Any = git_host()
    host.commit_files(service_repo, {"README.md": b"hi\n"}, message="no manifests",
                      delete_missing=True)  # fmt: skip
    req = services.submit_request(spec=_spec(environment="dev"), actor=owner)
    run = drive(latest_run(req.subject))
    assert run.status == RunStatus.SUCCEEDED
    assert "no Rollout or Deployment under deploy/" in run.steps.get(key="wire").outputs["reason"]
    assert host.list_pull_requests(service_repo) == []
    page = owner_client.get(f"/infra/requests/{req.pk}/").content.decode()
    assert "Paved could not open a pull request" in page
    assert 'data-testid="connection-yaml"' in page


def test_a_component_without_a_repository_gets_no_wiring_step(
    owner: User, orders_service: Entity, cluster_dir: Path
) -> None:
    req = services.submit_request(spec=_spec(environment="dev"), actor=owner)
    run = drive(latest_run(req.subject))
    assert "wire" not in [s.key for s in run.steps.all()]
