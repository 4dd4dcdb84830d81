"""The step authorization rule, for every built-in action that writes outside its workspace.

One row per action: inputs that a member of the owning team (team-orders) may run and that a
developer of another team (team-payments) may not. The table must name every registered kind
that declares `writes = OUTSIDE`, so a new action cannot ship without a row here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from catalog.models import Entity
from runs.authority import NotAuthorized, Write, authorize, reserve
from runs.models import Run
from runs.registry import NOTHING, OUTSIDE, StepKind, register_step, step_kinds
from runs.runner import StepSpec, start_run

ORDERS = "group:default/team-orders"

# action -> (inputs, what the refusal for another team's developer says)
TABLE: dict[str, tuple[dict[str, Any], str]] = {
    "publish:git": ({"repoUrl": "localhost?owner=team-orders&repo=new-svc"},
                    "may create repositories only under an owner of their team"),
    "publish:github": ({"repoUrl": "github.com?owner=team-orders&repo=new-svc"},
                       "may create repositories only under an owner of their team"),
    "publish:github:pull-request": (
        {"repoUrl": "localhost?owner=team-orders&repo=orders-api", "branchName": "b",
         "title": "t", "description": "d"},
        "may open pull requests only on repositories their team owns"),
    # GitLab (the configured integration, a loopback fake here): the same rules, host by host.
    "publish:gitlab": ({"repoUrl": "gitlab.example?owner=team-orders&repo=new-svc"},
                       "may create repositories only under an owner of their team"),
    "publish:gitlab:merge-request": (
        {"repoUrl": "gitlab.example?owner=team-orders&repo=orders-api", "branchName": "b",
         "title": "t", "description": "d"},
        "may open pull requests only on repositories their team owns"),
    "kubernetes:namespace": ({"name": "orders", "owner": ORDERS},
                             "they are not a member of group:default/team-orders"),
    "argocd:create-resources": (
        {"appName": "orders-api", "namespace": "orders", "repoUrl": "https://x/y.git",
         "path": "deploy"},
        "may deploy only into their team's namespaces"),
    "pagerduty:service": ({"name": "orders-api", "owner": ORDERS},
                          "may create on-call services only for their own team"),
    "opsgenie:team": ({"name": "orders-api", "owner": ORDERS},
                      "may create on-call services only for their own team"),
    "infra:request": (
        {"resourceClass": "postgresql", "name": "db", "namespace": "orders",
         "environment": "dev", "component": "orders-api"},
        "you do not own orders-api: only group:default/team-orders may request"),
    # Internal steps: written only by Paved's own flows; a template cannot name them, and
    # outside an internal step the GitOps repository is refused to anyone.
    "infra:apply-claim": ({"request_id": 1, "api_version": "v1", "kind": "X", "namespace": "n",
                           "name": "n", "environment": "dev", "parameters": {},
                           "provider": "p"}, "internal"),
    "infra:delete-claim": ({"request_id": 1, "api_version": "v1", "kind": "X", "namespace": "n",
                            "name": "n", "environment": "dev"}, "internal"),
    # The pull request that wires a database into its service: the repository its component
    # names, checked with the authority of the person who asked for the database.
    "infra:wire-connection": ({"request_id": 1, "repository": "team-orders/orders-api"},
                              "may open pull requests only on repositories their team owns"),
    # Service day 2: decommissioning the team's component.
    "infra:release-component": ({"component": "orders-api"}, "you do not own orders-api"),
    "day2:archive-repository": ({"repository": "team-orders/orders-api"},
                                "may create repositories only under an owner of their team"),
    "day2:retire-entity": ({"ref": "component:default/orders-api"},
                           "may create catalog entities only for their own team"),
    # Removes what a run recorded; acts on the record's team (internal: a template cannot
    # name it, an undo run adds it).
    "undo:remove": ({"record_id": 0}, "undo"),
    # A template upgrade's pull request (internal: only the upgrade run Paved starts names it).
    "upgrade:pull-request": ({"upgrade": 0}, "upgrade"),
    # Its targets are the entities in the file it reads: checked with them (test below).
    "catalog:register": ({"catalogInfoUrl": "http://h/team-orders/orders-api/blob/main/c.yaml"},
                         "documents"),
}  # fmt: skip


def _run(user: User) -> Run:
    return start_run(kind="scaffolder", title="t", actor=user, owner_ref="",
                     steps=[StepSpec(key="s", kind="debug:log", inputs={"message": "x"})])  # fmt: skip


@pytest.fixture
def team_property(embedded: Path, owner: User) -> None:
    """What team-orders owns: a component, its repository and its namespace."""
    Entity.objects.create(kind="Component", name="orders-api", owner_ref=ORDERS,
                          metadata={"annotations": {
                              "localhost/project-slug": "team-orders/orders-api"}})  # fmt: skip
    setup = _run(owner)
    reserve(kind="namespace", key="dev/orders", owner_ref=ORDERS, run=setup, step_key="ns")


def test_every_action_that_writes_outside_its_workspace_has_a_row() -> None:
    outside = {name for name, kind in step_kinds().items()
               if kind.writes == OUTSIDE and not kind.__module__.startswith("tests.")}  # fmt: skip
    assert outside == set(TABLE)
    for name, kind in step_kinds().items():
        assert kind.writes in (NOTHING, OUTSIDE), name


def test_a_kind_that_does_not_declare_what_it_writes_cannot_be_registered() -> None:
    class Undeclared(StepKind):
        name = "test:undeclared"

    class OutsideWithoutTargets(StepKind):
        name = "test:outside-without-targets"
        writes = OUTSIDE

    for kind in (Undeclared, OutsideWithoutTargets):
        with pytest.raises(ValueError, match="writes"):
            register_step(kind)
    assert "test:undeclared" not in step_kinds()


@pytest.mark.django_db
@pytest.mark.parametrize("action", sorted(TABLE))
def test_step_authorization(
    action: str,
    team_property: None,
    owner: User,
    outsider: User,
    platform_admin: User,
    request: pytest.FixtureRequest,
) -> None:
    if action.startswith("publish:gitlab"):
        request.getfixturevalue("gitlab_settings")
    kind = step_kinds()[action]
    inputs, refusal = TABLE[action]
    if refusal == "upgrade":  # its target is the upgrade's repository: checked with one
        assert kind.internal
        _check_upgrade_step(kind, owner, outsider, platform_admin)
        return
    victim_run, attacker_run, admin_run = _run(owner), _run(outsider), _run(platform_admin)
    writes = kind.write_targets(inputs, attacker_run)
    assert writes or refusal == "undo", f"{action} declares no write targets"
    if refusal == "internal":
        assert kind.internal
        authorize(attacker_run, "s", writes, internal=True)  # Paved's own flow
        with pytest.raises(NotAuthorized, match="GitOps repository is written only by Paved"):
            authorize(attacker_run, "s", writes, internal=False)
        return
    if refusal == "undo":
        assert kind.internal
        record = reserve(kind="repository", key="team-orders/orders-api", owner_ref=ORDERS,
                         run=victim_run, step_key="publish")  # fmt: skip
        undo_inputs = {"record_id": record.pk}
        with pytest.raises(NotAuthorized, match="belongs to group:default/team-orders"):
            authorize(attacker_run, "s", kind.write_targets(undo_inputs, attacker_run),
                      internal=True)  # fmt: skip
        authorize(victim_run, "s", kind.write_targets(undo_inputs, victim_run), internal=True)
        return
    if refusal == "documents":
        document_owner = [Write("catalog", name="component:default/x", owner=ORDERS)]
        authorize(victim_run, "s", document_owner)
        with pytest.raises(NotAuthorized, match="may create catalog entities only for their own"):
            authorize(attacker_run, "s", document_owner)
        return
    with pytest.raises(NotAuthorized, match=refusal):
        authorize(attacker_run, "s", writes)
    authorize(victim_run, "s", kind.write_targets(inputs, victim_run))
    authorize(admin_run, "s", kind.write_targets(inputs, admin_run))


def _check_upgrade_step(
    kind: type[StepKind], owner: User, outsider: User, platform_admin: User
) -> None:
    """The upgrade step writes a pull request on the service's repository: refused when the
    one who started the upgrade run is not of the owning team."""
    from scaffolder.models import ServiceProvenance, TemplateUpgrade, TemplateVersion

    version = TemplateVersion.objects.create(ref="template:default/t", version=1,
                                             content_hash="a", yaml_text="")  # fmt: skip
    provenance = ServiceProvenance.objects.create(
        repository="team-orders/orders-api", owner_ref=ORDERS, template_ref=version.ref,
        version=version)  # fmt: skip
    upgrade = TemplateUpgrade.objects.create(provenance=provenance, from_version=version,
                                             to_version=version)  # fmt: skip
    for user, allowed in ((outsider, False), (owner, True), (platform_admin, True)):
        run = start_run(kind="upgrade", title="t", actor=user, owner_ref="",
                        steps=[StepSpec(key="s", kind="debug:log", inputs={"message": "x"})])  # fmt: skip
        TemplateUpgrade.objects.filter(pk=upgrade.pk).update(run_pk=run.pk)
        writes = kind.write_targets({"upgrade": upgrade.pk}, run)
        if allowed:
            authorize(run, "s", writes, internal=True)
        else:
            with pytest.raises(NotAuthorized, match="may open pull requests only on"):
                authorize(run, "s", writes, internal=True)


@pytest.mark.django_db
def test_nobody_publishes_into_the_gitops_repository(
    embedded: Path, settings: Any, platform_admin: User
) -> None:
    kind = step_kinds()["publish:git"]
    owner, _, name = settings.PAVED_GITOPS_REPO.partition("/")
    writes = kind.write_targets({"repoUrl": f"localhost?owner={owner}&repo={name}"}, None)
    with pytest.raises(NotAuthorized, match="is the GitOps repository"):
        authorize(_run(platform_admin), "s", writes)


@pytest.mark.django_db
def test_a_template_cannot_name_an_internal_step() -> None:
    from scaffolder.loader import TemplateInvalid, load_template_text

    text = """
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: sneaky}
spec:
  type: service
  steps:
    - id: claim
      action: infra:apply-claim
      input: {request_id: 1}
"""
    with pytest.raises(TemplateInvalid, match="unknown action 'infra:apply-claim'"):
        load_template_text(text, source="t")
