"""A template upgrade delivered on GitHub (PyGithub against the loopback fake): the merged
tree on the upgrade branch, one pull request, updated rather than duplicated (its title and
description too); closed on GitHub without merging it is declined, merged it moves the service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from portal.providers import git_host
from runs.models import Run, RunStatus
from scaffolder.models import ServiceProvenance, UpgradeState
from scaffolder.services import start_template_run
from scaffolder.upgrades.services import refresh_pull_request_states, start_upgrade
from tests.scaffolder.upgrade_helpers import VERSION_A, VERSION_B, drive, write_template

pytestmark = [pytest.mark.django_db]


def test_upgrade_opens_and_updates_one_github_pull_request(
    github_settings: Any, fake_github: Any, owner: User, tmp_path: Path
) -> None:
    github_settings.PAVED_GIT_PROVIDER = "github"
    github_settings.PAVED_SHARED_REPOSITORY_OWNERS = ["acme"]
    version_a = write_template(tmp_path / "tpl", VERSION_A)
    values = {"name": "orders-api", "owner": "group:default/team-orders",
              "repoUrl": "github.com?owner=acme&repo=orders-api"}  # fmt: skip
    run = drive(start_template_run(version=version_a, values=values, actor=owner))
    assert run.status == RunStatus.SUCCEEDED, run.error
    provenance = ServiceProvenance.objects.get(repository="acme/orders-api")
    host = git_host()
    repo = host.get_repository("acme", "orders-api")
    assert repo is not None
    host.commit_files(repo, {"NOTES.md": b"ours\n"}, message="team", branch="main",
                      delete=["setup.cfg"])  # fmt: skip

    version_b = write_template(tmp_path / "tpl", VERSION_B, changelog="Port 9000.")
    upgrade = start_upgrade(provenance=provenance, to_version=version_b, actor=owner)
    assert upgrade is not None
    assert drive(Run.objects.get(pk=upgrade.run_pk)).status == RunStatus.SUCCEEDED
    files = fake_github.files("acme/orders-api", "paved/upgrade-tiny-service")
    assert files["app.py"] == b"VERSION = 2\n"
    assert files["NOTES.md"] == b"ours\n"
    assert "old.txt" not in files
    assert "setup.cfg" not in files
    pulls = fake_github.repos["acme/orders-api"]["pulls"]
    assert len(pulls) == 1
    assert "Port 9000." in pulls[0]["body"]

    version_c = write_template(
        tmp_path / "tpl", {**VERSION_B, "app.py": "VERSION = 3\n"}, changelog="Version three."
    )
    again = start_upgrade(provenance=provenance, to_version=version_c, actor=owner)
    assert again is not None
    assert drive(Run.objects.get(pk=again.run_pk)).status == RunStatus.SUCCEEDED
    assert len(fake_github.repos["acme/orders-api"]["pulls"]) == 1
    files = fake_github.files("acme/orders-api", "paved/upgrade-tiny-service")
    assert files["app.py"] == b"VERSION = 3\n"
    pull = fake_github.repos["acme/orders-api"]["pulls"][0]
    assert pull["title"] == "Upgrade to default/tiny-service v3"
    assert "Version three." in pull["body"]
    assert "Port 9000." not in pull["body"]

    # GitHub does not answer: the upgrade stays as it was until the next read.
    fake_github.fail_on("GET", r"/repos/acme/orders-api/pulls/1", 502,
                        {"message": "Server Error"}, times=10)  # fmt: skip
    assert refresh_pull_request_states()["unreadable"] == 1
    fake_github.failing.clear()
    again.refresh_from_db()
    assert again.state == UpgradeState.OPEN

    # The team closes it on GitHub without merging: declined.
    host.gh.get_repo("acme/orders-api").get_pull(1).edit(state="closed")  # type: ignore[attr-defined]
    assert refresh_pull_request_states()["declined"] == 1
    again.refresh_from_db()
    assert again.state == UpgradeState.DECLINED

    # Opened again later: a new pull request, which the team merges this time.
    reopened = start_upgrade(provenance=provenance, to_version=version_c, actor=owner)
    assert reopened is not None
    assert drive(Run.objects.get(pk=reopened.run_pk)).status == RunStatus.SUCCEEDED
    reopened.refresh_from_db()
    assert (reopened.pull_number, reopened.state) == (2, UpgradeState.OPEN)
    fake_github.merge_pull("acme/orders-api", 2)
    assert refresh_pull_request_states()["merged"] == 1
    reopened.refresh_from_db()
    provenance.refresh_from_db()
    assert reopened.state == UpgradeState.MERGED
    assert provenance.version == version_c
