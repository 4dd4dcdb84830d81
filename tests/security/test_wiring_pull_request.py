"""The pull request that wires a database into its service acts with the authority of the person
who asked for the database: a developer who points their component's `project-slug` at another
team's repository (or at the GitOps repository) gets their database, but no branch and no pull
request appear there. Real local git host, real GitOps repository, the run engine."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from catalog.models import Entity
from infra import services
from infra.models import ResourceClass
from infra.presets import install_presets
from infra.validation import RequestSpec
from portal.models import AuditEvent
from portal.providers import git_host
from portal.providers.local_git.provider import repo_dir
from runs.authority import reserve
from runs.models import RunStatus
from runs.runner import StepSpec, start_run
from tests.infra.conftest import drive, latest_run

pytestmark = pytest.mark.django_db

DEPLOYMENT = (
    b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: pay\nspec:\n  template:\n"
    b"    spec:\n      containers:\n        - name: pay\n          image: pay:1\n"
)


@pytest.fixture(autouse=True)
def embedded_stack(settings: Any, tmp_path: Path) -> None:
    if not ResourceClass.objects.exists():
        install_presets()
    settings.PAVED_GIT_PROVIDER = "local"
    settings.PAVED_GIT_LOCAL_ROOT = str(tmp_path / "git")
    settings.PAVED_GITOPS_REPO = "platform/gitops"
    settings.PAVED_CLUSTER_PROVIDER = "gitops"
    settings.PAVED_STEP_RETRY_BACKOFF_SECONDS = 0
    settings.PAVED_SHARED_REPOSITORY_OWNERS = []


def _request_for(owner: User, team: Entity, slug: str) -> Any:
    Entity.objects.create(kind="Component", name="orders-service", owner_ref=team.ref,
                          spec_type="service",
                          metadata={"annotations": {"localhost/project-slug": slug}})  # fmt: skip
    spec = RequestSpec.from_document({
        "resourceClass": "postgresql", "name": "orders-db", "environment": "dev",
        "component": "orders-service",
        "parameters": {"storageGB": 20, "tier": "standard", "region": "eu-west-1"},
    })  # fmt: skip
    req = services.submit_request(spec=spec, actor=owner)
    return drive(latest_run(req.subject))


def test_a_component_naming_another_teams_repository_gets_no_pull_request_there(
    owner: User, outsider: User, team: Entity, other_team: Entity
) -> None:
    host: Any = git_host()
    repo, _ = host.ensure_repository("team-payments", "payments-api")
    host.commit_files(repo, {"deploy/k8s/deployment.yaml": DEPLOYMENT}, message="init")
    # team-payments' own run created it: the record says whose it is.
    theirs = start_run(kind="scaffolder", title="t", actor=outsider, owner_ref=other_team.ref,
                       steps=[StepSpec(key="s", kind="debug:log", inputs={"message": "x"})])  # fmt: skip
    reserve(kind="repository", key="team-payments/payments-api", owner_ref=other_team.ref,
            run=theirs, step_key="publish")  # fmt: skip

    run = _request_for(owner, team, "team-payments/payments-api")

    wire = run.steps.get(key="wire")
    assert run.status == RunStatus.FAILED
    assert wire.error.startswith("not allowed: ")
    assert "may open pull requests only on repositories their team owns" in wire.error
    assert host.list_pull_requests(repo) == []
    branches = subprocess.run(
        ["git", "--git-dir", str(repo_dir("team-payments", "payments-api")), "for-each-ref",
         "--format=%(refname:short)", "refs/heads"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert branches == ["main"]
    assert AuditEvent.objects.filter(action="step.refused", target_id=str(wire.pk)).exists()


def test_a_component_naming_the_gitops_repository_gets_no_pull_request_there(
    owner: User, team: Entity
) -> None:
    run = _request_for(owner, team, "platform/gitops")
    wire = run.steps.get(key="wire")
    assert run.status == RunStatus.FAILED
    assert "is the GitOps repository" in wire.error
    gitops = git_host().get_repository("platform", "gitops")
    assert gitops is not None
    assert git_host().list_pull_requests(gitops) == []  # type: ignore[attr-defined]
