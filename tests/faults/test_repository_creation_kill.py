"""A worker killed inside the local git host's repository creation, before the final rename,
leaves a complete bare repository in a hidden folder. A retry of the step discards it and
creates the repository afresh; if nothing retries, the workspace collection (beat) removes it
once it is older than PAVED_GIT_ABANDONED_CREATION_SECONDS, and never while a creation under
that owner is still under way."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from portal.providers.local_git.provider import LocalGitHost
from runs.models import Run, RunStatus, Step, StepStatus
from runs.runner import recover_stalled_steps
from runs.tasks import collect_workspaces as collect_task
from scaffolder.demo import load_builtin_templates
from scaffolder.models import TemplateVersion
from scaffolder.services import start_template_run
from tests.conftest import WorkerProcess, wait_for
from tests.faults.stack import freezing_git, golden_path_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

VALUES = {"name": "orders-api", "owner": "group:default/team-orders",
          "repoUrl": "localhost?owner=team-orders&repo=orders-api"}  # fmt: skip


@pytest.fixture
def worker_env(worker_env: dict[str, str], tmp_path: Path, settings: Any) -> dict[str, str]:
    settings.PAVED_GIT_LOCAL_ROOT = tmp_path / "git"
    settings.PAVED_GIT_PROVIDER = "local"
    settings.PAVED_DEPLOY_PROVIDER = settings.PAVED_CLUSTER_PROVIDER = "gitops"
    path = freezing_git(tmp_path / "bin", git_dir_suffix="/.orders-api.git.creating",
                        marker=tmp_path / "frozen")  # fmt: skip
    return {**golden_path_env(worker_env, tmp_path, pause_on=""), "PATH": path}


def _freeze_in_creation(owner: User, worker: WorkerProcess, tmp_path: Path) -> Run:
    load_builtin_templates()
    version = TemplateVersion.objects.get(ref="template:default/python-service")
    run = start_template_run(version=version, values=VALUES, actor=owner)
    wait_for(lambda: (tmp_path / "frozen").exists(), timeout=60)
    owner_dir = tmp_path / "git" / "team-orders"
    # Initialised and marked managed, not yet renamed into place.
    assert sorted(p.name for p in owner_dir.iterdir()) == [".orders-api.git.creating"]
    assert (owner_dir / ".orders-api.git.creating" / "HEAD").exists()
    return run


def _hidden(owner_dir: Path) -> list[str]:
    return sorted(p.name for p in owner_dir.iterdir() if p.name.startswith("."))


def test_retry_after_kill_inside_repository_creation_discards_the_leftover_and_creates_once(
    owner: User, celery_worker: WorkerProcess, tmp_path: Path
) -> None:
    run = _freeze_in_creation(owner, celery_worker, tmp_path)
    celery_worker.kill()
    publish = Step.objects.get(run=run, key="publish")
    assert publish.status == StepStatus.RUNNING

    celery_worker.start()
    wait_for(lambda: Step.objects.get(pk=publish.pk).lease_expires_at < _now(), timeout=10)
    assert recover_stalled_steps() >= 1
    wait_for(lambda: Run.objects.get(pk=run.pk).is_finished, timeout=90, interval=0.5)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, (run.error, celery_worker.logs())
    assert "left by a creation of team-orders/orders-api that did not finish" in (
        celery_worker.logs()
    )
    owner_dir = tmp_path / "git" / "team-orders"
    assert sorted(p.name for p in owner_dir.iterdir()) == ["orders-api.git"]
    repos = [r.full_name for r in LocalGitHost().list_repositories()]
    assert repos == ["platform/gitops", "team-orders/orders-api"]
    count = subprocess.run(
        ["git", "--git-dir", str(owner_dir / "orders-api.git"), "rev-list", "--count", "main"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert count == "1"


def test_beat_job_removes_an_abandoned_creation_only_when_old_and_its_worker_is_gone(
    owner: User, celery_worker: WorkerProcess, tmp_path: Path, settings: Any
) -> None:
    settings.PAVED_GIT_ABANDONED_CREATION_SECONDS = 3600
    _freeze_in_creation(owner, celery_worker, tmp_path)
    owner_dir = tmp_path / "git" / "team-orders"
    leftover = owner_dir / ".orders-api.git.creating"
    two_hours_ago = time.time() - 7200
    os.utime(leftover, (two_hours_ago, two_hours_ago))
    # Old enough, but its worker still holds the owner's creation lock: not touched.
    collect_task.apply().get()
    assert _hidden(owner_dir) == [".orders-api.git.creating"]

    celery_worker.kill()
    # Its worker is gone but the folder is young: not touched either.
    os.utime(leftover, None)
    collect_task.apply().get()
    assert _hidden(owner_dir) == [".orders-api.git.creating"]
    # Once older than the threshold, the beat job removes it, and nothing else.
    os.utime(leftover, (two_hours_ago, two_hours_ago))
    assert collect_task.apply().get() == 1
    assert _hidden(owner_dir) == []


def _now() -> datetime:
    return timezone.now()
