"""Attack 4: take over another team's namespace.

As found: `kubernetes:namespace` with another team's existing namespace and the attacker's team
as `owner` rewrote that namespace's RoleBinding in GitOps. Now a namespace is created only for the
requester's own team, and only when it is new or already that team's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.test import Client

from runs.models import Run, RunStatus
from runs.runner import StepSpec, start_run
from tests.conftest import wait_for
from tests.security.conftest import attempt, gitops_commits, push, register


def _namespace_template(name: str, owner: str) -> dict[str, Any]:
    return {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": name},
        "spec": {
            "owner": "group:default/team-payments", "type": "service",
            "parameters": [{"title": "Go", "properties": {"go": {"type": "string"}}}],
            "steps": [{"id": "ns", "action": "kubernetes:namespace",
                       "input": {"name": "orders", "owner": owner}}],
        },
    }  # fmt: skip


def _rolebinding() -> bytes | None:
    from portal.providers import cluster

    found = cluster().read_manifest(  # type: ignore[attr-defined]
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        "orders",
        "paved-team-edit",
        environment="dev",
    )
    return yaml.safe_dump(found).encode() if found else None


def _finished(pk: int) -> Run:
    return wait_for(lambda: (r := Run.objects.get(pk=pk)).is_finished and r, timeout=60)


@pytest.mark.django_db(transaction=True)
def test_attack_4_another_teams_namespace_cannot_be_taken_over(
    embedded: Path, owner: User, attacker: User, attacker_client: Client, celery_worker: Any
) -> None:
    # The victim's namespace, made by the victim's run.
    victim = start_run(kind="scaffolder", title="orders", actor=owner, owner_ref="group:default/team-orders",
                       steps=[StepSpec(key="ns", kind="kubernetes:namespace",
                                       inputs={"name": "orders", "owner": "group:default/team-orders"})])  # fmt: skip
    assert _finished(victim.pk).status == RunStatus.SUCCEEDED
    before, binding = gitops_commits(), _rolebinding()
    assert binding is not None
    assert b"team-orders" in binding

    docs = [_namespace_template("grab-namespace", "group:default/team-payments"),
            _namespace_template("pose-as-owner", "group:default/team-orders")]  # fmt: skip
    push("team-payments", "ns-attacks", {"catalog-info.yaml": yaml.safe_dump_all(docs)})
    register(attacker_client, "team-payments/ns-attacks")

    # Through the wizard: Create already says the name is taken, and starts nothing.
    for template in ("grab-namespace", "pose-as-owner"):
        outcome, text = attempt(attacker_client, f"template:default/{template}")
        assert outcome == "refused at create"
        assert "The namespace orders (dev) already exists" in text

    # The step's own guard, as if the namespace had appeared after Create's check.
    for owner_ref, refusal in (
        (
            "group:default/team-payments",
            "namespace orders (dev) belongs to group:default/team-orders",
        ),
        ("group:default/team-orders", "they are not a member of group:default/team-orders"),
    ):
        run = start_run(kind="scaffolder", title="grab", actor=attacker, owner_ref=owner_ref,
                        steps=[StepSpec(key="ns", kind="kubernetes:namespace",
                                        inputs={"name": "orders", "owner": owner_ref})])  # fmt: skip
        run = _finished(run.pk)
        assert run.status == RunStatus.FAILED
        assert refusal in run.error

    assert gitops_commits() == before
    assert _rolebinding() == binding
