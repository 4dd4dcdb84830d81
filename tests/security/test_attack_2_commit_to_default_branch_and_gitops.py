"""Attack 2: commit straight to the default branch of any repository, the GitOps one included.

As found: `publish:github:pull-request` with `branchName: main` and a non-existent target branch
wrote onto `main`; a ClusterRoleBinding giving the attacker's team cluster-admin landed on the
GitOps `main` with no review; `publish:git` created repositories under any owner (it could squat
the GitOps repository's name). Each is replayed through the wizard on a real worker against the
local git host; each is refused before anything is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.test import Client

from runs.models import Run, RunStatus
from tests.conftest import wait_for
from tests.security.conftest import (
    attempt,
    commits,
    gitops_commits,
    last_run,
    push,
    register,
    start_in_wizard,
)

BINDING = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRoleBinding",
    "metadata": {"name": "payments-are-admins"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                "name": "cluster-admin"},
    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                  "name": "team-payments"}],
}  # fmt: skip


def _template(name: str, publish: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": name},
        "spec": {
            "owner": "group:default/team-payments",
            "type": "service",
            "parameters": [{"title": "Go", "properties": {"go": {"type": "string"}}}],
            "steps": [
                {"id": "file", "action": "catalog:write",
                 "input": {"filePath": "cluster-admin.yaml", "entity": BINDING}},
                {"id": "publish", **publish},
            ],
        },
    }  # fmt: skip


def _pr(repo: str, branch: str, **extra: str) -> dict[str, Any]:
    return {"action": "publish:github:pull-request",
            "input": {"repoUrl": f"localhost?owner={repo.split('/')[0]}&repo={repo.split('/')[1]}",
                      "branchName": branch, "title": "t", "description": "d", **extra}}  # fmt: skip


def _publish(repo: str) -> dict[str, Any]:
    owner, name = repo.split("/")
    return {"action": "publish:git", "input": {"repoUrl": f"localhost?owner={owner}&repo={name}"}}


TEMPLATES = {
    "pr-onto-main": _pr("team-payments/app", "main", targetBranchName="does-not-exist"),
    "pr-onto-existing-branch": _pr("team-payments/app", "release"),
    "pr-into-gitops": _pr("platform/gitops", "grant"),
    "squat-gitops": _publish("platform/gitops"),
    "repo-under-another-team": _publish("team-orders/orders-new"),
    "pr-from-a-new-branch": _pr("team-payments/app", "feature-x"),  # the legitimate way
}


def _run(client: Client, name: str) -> Run:
    before = last_run()
    start_in_wizard(client, f"template:default/{name}")
    run = last_run()
    assert run is not None
    assert before is None or run.pk != before.pk, "Create started no run"
    return wait_for(lambda: (r := Run.objects.get(pk=run.pk)).is_finished and r, timeout=60)


@pytest.fixture
def attack_templates(embedded: Path, attacker_client: Client) -> None:
    from portal.providers import cluster

    cluster().repository()  # type: ignore[attr-defined]  # the GitOps repository exists
    docs = yaml.safe_dump_all([_template(n, p) for n, p in TEMPLATES.items()], sort_keys=False)
    push("team-payments", "attacks", {"catalog-info.yaml": docs})
    push("team-payments", "app", {"README.md": "# app\n"})
    push("team-payments", "app", {"VERSION": "1\n"}, branch="release")
    assert register(attacker_client, "team-payments/attacks").status_code == 302


@pytest.mark.django_db(transaction=True)
def test_attack_2_pull_request_steps_never_write_an_existing_or_default_branch(
    attack_templates: None, attacker: User, attacker_client: Client, celery_worker: Any
) -> None:
    main, release = commits("team-payments", "app"), commits("team-payments", "app", "release")

    run = _run(attacker_client, "pr-onto-main")
    assert run.status == RunStatus.FAILED
    assert "needs a new branch of its own" in run.error
    run = _run(attacker_client, "pr-onto-existing-branch")
    assert run.status == RunStatus.FAILED
    assert "already exists in team-payments/app" in run.error
    assert commits("team-payments", "app") == main
    assert commits("team-payments", "app", "release") == release

    # The rule still lets the team propose a change the normal way.
    run = _run(attacker_client, "pr-from-a-new-branch")
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert commits("team-payments", "app") == main  # main only changes by merging the PR


@pytest.mark.django_db(transaction=True)
def test_attack_2_the_gitops_repository_and_other_teams_owners_are_out_of_reach(
    attack_templates: None, attacker: User, attacker_client: Client, celery_worker: Any
) -> None:
    before = gitops_commits()
    assert before  # the GitOps repository exists, with its first commit

    run = _run(attacker_client, "pr-into-gitops")
    assert run.status == RunStatus.FAILED
    assert "is the GitOps repository" in run.error
    # Squatting: Create refuses the existing name; the step refuses it whatever the check said.
    outcome, text = attempt(attacker_client, "template:default/squat-gitops")
    assert outcome == "refused at create"
    assert "The repository platform/gitops already exists" in text
    from runs.runner import StepSpec, start_run

    squat = start_run(kind="scaffolder", title="squat", actor=attacker, steps=[
        StepSpec(key="file", kind="catalog:write", inputs={"entity": BINDING}),
        StepSpec(key="publish", kind="publish:git",
                 inputs={"repoUrl": "localhost?owner=platform&repo=gitops"})])  # fmt: skip
    squat = wait_for(lambda: (r := Run.objects.get(pk=squat.pk)).is_finished and r, timeout=60)
    assert squat.status == RunStatus.FAILED
    assert "is the GitOps repository" in squat.error
    assert gitops_commits() == before
    assert commits("platform", "gitops", "grant") == []

    run = _run(attacker_client, "repo-under-another-team")
    assert run.status == RunStatus.FAILED
    assert "may create repositories only under an owner of their team (team-payments)" in run.error
    assert commits("team-orders", "orders-new") == []
