"""A worker killed in the middle of a golden-path run (python-service template on the embedded
providers: local bare git repositories + the GitOps repository), and another one takes over:
the run completes exactly once. Checked on the real artefacts: the bare repositories' commit
history, the GitOps repository's history and the catalog table."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone

from catalog.models import Entity
from scaffolder.demo import load_builtin_templates
from scaffolder.engine.runner import recover_stalled_steps
from scaffolder.models import Run, RunStatus, Step, StepStatus, TemplateVersion
from scaffolder.services import start_template_run
from tests.conftest import WorkerProcess, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

EMBEDDED = override_settings(
    PAVED_GIT_PROVIDER="local", PAVED_DEPLOY_PROVIDER="gitops", PAVED_CLUSTER_PROVIDER="gitops"
)
VALUES = {"name": "orders-api", "owner": "group:default/team-orders",
          "repoUrl": "localhost?owner=team-orders&repo=orders-api"}  # fmt: skip


@pytest.fixture
def worker_env(worker_env: dict[str, str], tmp_path: Path, settings: Any) -> dict[str, str]:
    settings.PAVED_GIT_LOCAL_ROOT = tmp_path / "git"
    return {
        **worker_env,
        "PAVED_GIT_LOCAL_ROOT": str(tmp_path / "git"),
        "PAVED_GIT_PROVIDER": "local",
        "PAVED_DEPLOY_PROVIDER": "gitops",
        "PAVED_CLUSTER_PROVIDER": "gitops",
        # tests/faults/pause.py freezes the worker right after the publish step has pushed.
        "PAVED_EXTRA_STEP_MODULES": "tests.engine.steps,tests.faults.pause",
        "PAVED_TEST_PAUSE_ON": "Pushed ",
        "PAVED_TEST_PAUSE_MARKER": str(tmp_path / "paused"),
    }


def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), *args],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout.strip()  # fmt: skip


@EMBEDDED
def test_worker_killed_mid_golden_path_run_completes_exactly_once(
    owner: User, celery_worker: WorkerProcess, worker_env: dict[str, str], tmp_path: Path
) -> None:
    load_builtin_templates()
    version = TemplateVersion.objects.get(ref="template:default/python-service")
    run = start_template_run(version=version, values=VALUES, actor=owner)

    # The worker froze inside the publish step, after the commit reached the bare repository.
    wait_for(lambda: (tmp_path / "paused").exists(), timeout=60)
    celery_worker.kill()
    publish = Step.objects.get(run=run, key="publish")
    assert publish.status == StepStatus.RUNNING
    repo = tmp_path / "git" / "team-orders" / "orders-api.git"
    assert _git(repo, "rev-list", "--count", "main") == "1"  # the side effect is done...
    assert not Entity.objects.filter(ref="component:default/orders-api").exists()  # ...the rest not

    celery_worker.start()  # a fresh worker; the dead one's message is stuck with it
    # The publish lease is 300 s (a slow push must not be taken over); rather than wait it
    # out, move its expiry into the past, then run the scheduler's recovery job.
    Step.objects.filter(pk=publish.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert recover_stalled_steps() >= 1
    wait_for(lambda: Run.objects.get(pk=run.pk).is_finished, timeout=90, interval=0.5)

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, (run.error, celery_worker.logs())
    publish.refresh_from_db()
    assert publish.attempt == 2
    assert all(s.status == StepStatus.SUCCEEDED for s in run.steps.all())
    taken_over = run.log_lines.filter(message__startswith="Taking over step ")
    assert list(taken_over.values_list("step__key", flat=True)) == ["publish"]
    publish_log = list(run.log_lines.filter(step=publish).values_list("message", flat=True))
    assert sum(m.startswith("Pushed ") for m in publish_log) == 1  # only the dead worker pushed
    assert any(m.startswith("The repository already has these") for m in publish_log)

    # Exactly once, on the real artefacts.
    repos = sorted(
        p.relative_to(tmp_path / "git").as_posix() for p in (tmp_path / "git").glob("*/*.git")
    )
    assert repos == ["platform/gitops.git", "team-orders/orders-api.git"]
    assert _git(repo, "rev-list", "--count", "main") == "1"
    assert _git(repo, "for-each-ref", "--format=%(refname)", "refs/heads") == "refs/heads/main"
    assert publish.outputs["commitHash"] == _git(repo, "rev-parse", "main")

    gitops = tmp_path / "git" / "platform" / "gitops.git"
    touching = _git(gitops, "log", "--format=%s", "main", "--", "*orders-api*").splitlines()
    assert len(touching) == len(set(touching)) == 2, touching  # the namespace, the application
    files = [f for f in _git(gitops, "ls-tree", "-r", "--name-only", "main").splitlines()
             if "orders-api" in f]  # fmt: skip
    assert any("Namespace" in f or "namespace" in f for f in files), files
    assert any("Application" in f or "application" in f for f in files), files

    assert Entity.objects.filter(ref="component:default/orders-api").count() == 1
    assert Entity.objects.filter(kind="Component", name="orders-api").count() == 1
