"""What the teams do with an upgrade's pull request, on the local git host: a re-run rewrites
its title and description, closing it unmerged makes the upgrade *declined* (and a later
upgrade opens a new one), merging it moves the service to the new version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from portal.celery import app
from portal.providers import git_host
from runs.models import Run, RunStatus
from scaffolder.models import ServiceProvenance, TemplateUpgrade, UpgradeState
from scaffolder.tasks import refresh_upgrade_pull_requests
from scaffolder.upgrades.services import refresh_pull_request_states, roll_out, start_upgrade
from tests.scaffolder.upgrade_helpers import (
    VERSION_A,
    VERSION_B,
    drive,
    repo,
    scaffold,
    tree,
    write_template,
)

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _local_git(settings: Any, git_root: Path) -> None:
    settings.PAVED_GIT_PROVIDER = "local"


def _deliver(provenance: ServiceProvenance, version: Any, actor: User) -> TemplateUpgrade:
    upgrade = start_upgrade(provenance=provenance, to_version=version, actor=actor)
    assert upgrade is not None
    assert drive(Run.objects.get(pk=upgrade.run_pk)).status == RunStatus.SUCCEEDED
    upgrade.refresh_from_db()
    return upgrade


def test_moving_to_a_newer_version_rewrites_the_pull_requests_title_and_body(
    owner: User, tmp_path: Path
) -> None:
    version_a = write_template(tmp_path / "tpl", VERSION_A)
    provenance = scaffold(version_a, owner, "orders-api")
    ref, host = repo("orders-api"), git_host()
    files = tree(ref, "main")
    host.commit_files(ref, {"config.yaml": files["config.yaml"].replace("8000", "8080").encode()},
                      message="team", branch="main")  # fmt: skip
    version_b = write_template(tmp_path / "tpl", VERSION_B, changelog="Port 9000.")
    first = _deliver(provenance, version_b, owner)
    pull = host.get_pull_request(ref, first.pull_number)  # type: ignore[attr-defined]
    assert pull.title == "Upgrade to default/tiny-service v2"
    assert "Port 9000." in pull.body
    assert "`config.yaml`: both sides changed it" in pull.body

    version_c = write_template(
        tmp_path / "tpl",
        {**VERSION_B, "app.py": "VERSION = 3\n", "config.yaml": "port: 8080\nlog: info\n"
         "region: ${{ values.region }}\n"},
        changelog="Version three.",
    )  # fmt: skip
    second = _deliver(provenance, version_c, owner)
    assert second.pull_number == first.pull_number
    assert len(host.list_pull_requests(ref)) == 1  # type: ignore[attr-defined]
    pull = host.get_pull_request(ref, second.pull_number)  # type: ignore[attr-defined]
    assert pull.title == "Upgrade to default/tiny-service v3"
    assert "v1" in pull.body
    assert "to **v3**" in pull.body
    assert "Version three." in pull.body
    assert "Port 9000." not in pull.body
    # v3 agrees with the team's port: the conflict is gone from the description too.
    assert "Conflicts to resolve" not in pull.body
    assert second.state == UpgradeState.OPEN


def test_closed_unmerged_is_declined_and_a_later_upgrade_opens_a_new_pull_request(
    owner: User, platform_admin: User, tmp_path: Path
) -> None:
    version_a = write_template(tmp_path / "tpl", VERSION_A)
    provenance = scaffold(version_a, owner, "orders-api")
    other = scaffold(version_a, owner, "billing-api")
    version_b = write_template(tmp_path / "tpl", VERSION_B)
    upgrade = _deliver(provenance, version_b, owner)
    waiting = _deliver(other, version_b, owner)
    assert refresh_pull_request_states() == {"merged": 0, "declined": 0, "open": 2,
                                             "unreadable": 0}  # fmt: skip

    ref, host = repo("orders-api"), git_host()
    host.close_pull_request(ref, upgrade.pull_number, closed_by="olivia")  # type: ignore[attr-defined]
    assert refresh_upgrade_pull_requests() == {"merged": 0, "declined": 1, "open": 1,
                                               "unreadable": 0}  # fmt: skip
    upgrade.refresh_from_db()
    waiting.refresh_from_db()
    assert upgrade.state == UpgradeState.DECLINED
    assert waiting.state == UpgradeState.OPEN
    provenance.refresh_from_db()
    assert provenance.version == version_a  # declined: the service stays where it was
    assert refresh_pull_request_states()["declined"] == 0  # read once, not every time

    # A rollout to "all behind" respects the team's no.
    assert roll_out(to_version=version_b, actor=platform_admin) == [waiting]
    waiting.refresh_from_db()
    drive(Run.objects.get(pk=waiting.run_pk))
    upgrade.refresh_from_db()
    assert upgrade.state == UpgradeState.DECLINED

    # The owner changes their mind: a new pull request, from the same branch.
    again = _deliver(provenance, version_b, owner)
    assert again.pk == upgrade.pk
    assert again.state == UpgradeState.OPEN
    assert again.pull_number != upgrade.pull_number
    states = {p.number: p.state for p in host.list_pull_requests(ref)}  # type: ignore[attr-defined]
    assert states == {upgrade.pull_number: "closed", again.pull_number: "open"}
    assert tree(ref, again.branch)["app.py"] == "VERSION = 2\n"


def test_a_merged_pull_request_is_seen_without_rerunning_the_upgrade(
    owner: User, tmp_path: Path
) -> None:
    version_a = write_template(tmp_path / "tpl", VERSION_A)
    provenance = scaffold(version_a, owner, "orders-api")
    version_b = write_template(tmp_path / "tpl", VERSION_B)
    upgrade = _deliver(provenance, version_b, owner)
    git_host().merge_pull_request(repo("orders-api"), upgrade.pull_number, merged_by="olivia")  # type: ignore[attr-defined]
    assert refresh_pull_request_states()["merged"] == 1
    upgrade.refresh_from_db()
    provenance.refresh_from_db()
    assert upgrade.state == UpgradeState.MERGED
    assert provenance.version == version_b


def test_the_refresh_runs_on_the_beat_schedule() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["upgrades-refresh-pull-requests"]
    assert entry["task"] == refresh_upgrade_pull_requests.name
    assert app.tasks[str(entry["task"])].__module__ == "scaffolder.tasks"  # found by the worker
