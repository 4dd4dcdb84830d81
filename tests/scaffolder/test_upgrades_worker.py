"""A rollout on a real Celery worker: one durable upgrade run per service, each opening its
own pull request, visible as runs with their log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from portal.providers import git_host
from runs.models import Run, RunLogLine, RunStatus
from scaffolder.models import ServiceProvenance, TemplateUpgrade
from scaffolder.services import start_template_run
from scaffolder.upgrades.services import roll_out
from tests.conftest import wait_for
from tests.scaffolder.upgrade_helpers import VERSION_A, VERSION_B, repo, tree, write_template


@pytest.fixture
def worker_env(worker_env: dict[str, str], tmp_path: Path, settings: Any) -> dict[str, str]:
    settings.PAVED_GIT_LOCAL_ROOT = tmp_path / "git"
    settings.PAVED_GIT_PROVIDER = "local"
    return {**worker_env, "PAVED_GIT_LOCAL_ROOT": str(tmp_path / "git"),
            "PAVED_GIT_PROVIDER": "local"}  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_rollout_on_a_real_worker(
    owner: User, platform_admin: User, celery_worker: Any, tmp_path: Path
) -> None:
    version_a = write_template(tmp_path / "tpl", VERSION_A)
    for name in ("orders-api", "orders-web"):
        values = {"name": name, "owner": "group:default/team-orders",
                  "repoUrl": f"localhost?owner=team-orders&repo={name}"}  # fmt: skip
        run_pk = start_template_run(version=version_a, values=values, actor=owner).pk
        wait_for(lambda pk=run_pk: Run.objects.get(pk=pk).is_finished, timeout=60)  # type: ignore[misc]
        assert Run.objects.get(pk=run_pk).status == RunStatus.SUCCEEDED
    # Recorded by the run kind's finish hook, just after the status.
    wait_for(lambda: ServiceProvenance.objects.count() == 2, timeout=10)
    version_b = write_template(tmp_path / "tpl", VERSION_B)

    upgrades = roll_out(to_version=version_b, actor=platform_admin)
    assert len(upgrades) == 2
    runs = [u.run_pk for u in upgrades]
    wait_for(lambda: all(Run.objects.get(pk=pk).is_finished for pk in runs), timeout=90)
    for upgrade in TemplateUpgrade.objects.all():
        run = Run.objects.get(pk=upgrade.run_pk)
        assert run.status == RunStatus.SUCCEEDED, run.error
        assert run.kind == "upgrade"
        assert upgrade.state == "open"
        assert RunLogLine.objects.filter(run=run, message__contains="Opened pull request").exists()
        name = upgrade.provenance.repository.split("/")[1]
        assert tree(repo(name), upgrade.branch)["app.py"] == "VERSION = 2\n"
        assert len(git_host().list_pull_requests(repo(name))) == 1  # type: ignore[attr-defined]
