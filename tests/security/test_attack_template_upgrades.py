"""Template upgrades across the trust boundary: a developer cannot open an upgrade pull
request on another team's repository, and a template cannot make an upgrade re-run the
steps that create outside resources, nor can another team decline an upgrade by closing its
pull request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from portal.providers import git_host
from runs.models import ProvisionedResource, Run, RunStatus
from runs.runner import StepSpec, start_run
from scaffolder.loader import TemplateInvalid, load_template_text
from scaffolder.models import TemplateUpgrade, UpgradeState
from scaffolder.upgrades.services import (
    UpgradeError,
    refresh_pull_request_states,
    roll_out,
    start_upgrade,
)
from tests.scaffolder.upgrade_helpers import VERSION_A, VERSION_B, drive, repo, scaffold, tree
from tests.scaffolder.upgrade_helpers import write_template as write

pytestmark = [pytest.mark.django_db]


def test_a_developer_cannot_open_an_upgrade_pr_on_another_teams_repository(
    embedded: Path, owner: User, outsider: User, tmp_path: Path
) -> None:
    version_a = write(tmp_path / "tpl", VERSION_A)
    provenance = scaffold(version_a, owner, "orders-api")
    version_b = write(tmp_path / "tpl", VERSION_B)
    # Through the service (the pages use it) ...
    with pytest.raises(UpgradeError, match="only its owning team"):
        start_upgrade(provenance=provenance, to_version=version_b, actor=outsider)
    with pytest.raises(UpgradeError, match="only platform admins roll out"):
        roll_out(to_version=version_b, actor=outsider)
    # ... and at the engine, should an upgrade run of theirs ever name the victim's upgrade.
    upgrade = TemplateUpgrade.objects.create(
        provenance=provenance, from_version=version_a, to_version=version_b
    )
    forged = start_run(kind="upgrade", title="forged", actor=outsider, owner_ref="",
                       steps=[StepSpec(key="upgrade", kind="upgrade:pull-request",
                                       inputs={"upgrade": upgrade.pk})])  # fmt: skip
    TemplateUpgrade.objects.filter(pk=upgrade.pk).update(run_pk=forged.pk)
    forged = drive(forged)
    assert forged.status == RunStatus.FAILED
    assert "may open pull requests only on repositories their team owns" in (
        forged.steps.get().error
    )
    ref = repo("orders-api")
    assert git_host().list_pull_requests(ref) == []  # type: ignore[attr-defined]
    assert git_host().list_files(ref, ref="paved/upgrade-tiny-service") == []


def test_a_template_cannot_name_the_upgrade_step() -> None:
    text = """
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: sneaky}
spec:
  type: service
  steps:
    - id: pr
      action: upgrade:pull-request
      input: {upgrade: 1}
"""
    with pytest.raises(TemplateInvalid, match="unknown action 'upgrade:pull-request'"):
        load_template_text(text, source="t")


def test_a_template_cannot_make_an_upgrade_rerun_outside_resource_steps(
    embedded: Path, owner: User, tmp_path: Path
) -> None:
    """Version B adds a step that creates another repository and changes its publish step:
    the upgrade renders files only; nothing outside the upgrade branch and PR is written."""
    version_a = write(tmp_path / "tpl", VERSION_A)
    provenance = scaffold(version_a, owner, "orders-api")
    more = (
        "    - id: sneaky\n      name: Another repository\n      action: publish:git\n"
        "      input:\n        repoUrl: localhost?owner=team-orders&repo=sneaky\n"
    )
    version_b = write(tmp_path / "tpl", VERSION_B, more_steps=more)
    records_before = set(ProvisionedResource.objects.values_list("kind", "key"))
    upgrade = start_upgrade(provenance=provenance, to_version=version_b, actor=owner)
    assert upgrade is not None
    run = drive(Run.objects.get(pk=upgrade.run_pk))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert [s.kind for s in run.steps.all()] == ["upgrade:pull-request"]
    assert git_host().get_repository("team-orders", "sneaky") is None
    new_records = set(ProvisionedResource.objects.values_list("kind", "key")) - records_before
    assert new_records == {("branch", "team-orders/orders-api#paved/upgrade-tiny-service")}
    assert tree(repo("orders-api"), "main")["app.py"] == "VERSION = 1\n"  # main untouched


def test_another_team_cannot_decline_an_upgrade_by_closing_its_pull_request(
    embedded: Path, owner: User, outsider: User, client: Any, tmp_path: Path
) -> None:
    """A declined upgrade is skipped by "roll out to all behind": closing another team's PR
    would keep the platform's fixes away from them. Only the owning team (or an admin) may."""
    version_a = write(tmp_path / "tpl", VERSION_A)
    provenance = scaffold(version_a, owner, "orders-api")
    version_b = write(tmp_path / "tpl", VERSION_B)
    upgrade = start_upgrade(provenance=provenance, to_version=version_b, actor=owner)
    assert upgrade is not None
    drive(Run.objects.get(pk=upgrade.run_pk))
    upgrade.refresh_from_db()
    url = f"/git/team-orders/orders-api/pulls/{upgrade.pull_number}/close"
    client.force_login(outsider)
    assert client.get(url).status_code == 405  # a POST only, behind the CSRF check
    assert client.post(url).status_code in (403, 404)
    assert git_host().find_pull_request(repo("orders-api"), upgrade.pull_number).state == "open"
    refresh_pull_request_states()
    upgrade.refresh_from_db()
    assert upgrade.state == UpgradeState.OPEN
