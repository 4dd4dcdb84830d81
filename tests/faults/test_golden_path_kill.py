"""A worker killed in the middle of a golden-path run (python-service template on the embedded
providers: local bare git repositories + the GitOps repository), and another one takes over:
the run completes exactly once. Checked on the real artefacts: the bare repositories' commit
history, the GitOps repository's history and the catalog table."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone

from catalog.models import Entity, Location
from runs.models import Run, RunStatus, Step, StepStatus
from runs.runner import recover_stalled_steps
from scaffolder.demo import load_builtin_templates
from scaffolder.models import TemplateVersion
from scaffolder.services import start_template_run
from tests.conftest import WorkerProcess, wait_for
from tests.faults.stack import golden_path_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

EMBEDDED = override_settings(
    PAVED_GIT_PROVIDER="local", PAVED_DEPLOY_PROVIDER="gitops", PAVED_CLUSTER_PROVIDER="gitops"
)
VALUES = {"name": "orders-api", "owner": "group:default/team-orders",
          "repoUrl": "localhost?owner=team-orders&repo=orders-api"}  # fmt: skip


# Where to freeze the worker: right after each step's side effect, before it is recorded.
KILL_POINTS = [
    pytest.param("publish", "Pushed ", id="after-push-to-new-repository"),
    pytest.param("argocd", "Argo CD application ", id="after-gitops-commit"),
    pytest.param("register", "Registered ", id="after-catalog-registration"),
]


@pytest.fixture
def worker_env(
    worker_env: dict[str, str], tmp_path: Path, settings: Any, pause_on: str
) -> dict[str, str]:
    settings.PAVED_GIT_LOCAL_ROOT = tmp_path / "git"
    # tests/faults/pause.py freezes the worker once a log line starts with PAUSE_ON.
    return golden_path_env(worker_env, tmp_path, pause_on)


def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), *args],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout.strip()  # fmt: skip


@EMBEDDED
@pytest.mark.parametrize(("step_key", "pause_on"), KILL_POINTS)
def test_worker_killed_mid_golden_path_run_completes_exactly_once(
    owner: User,
    celery_worker: WorkerProcess,
    tmp_path: Path,
    step_key: str,
    pause_on: str,
) -> None:
    load_builtin_templates()
    version = TemplateVersion.objects.get(ref="template:default/python-service")
    run = start_template_run(version=version, values=VALUES, actor=owner)
    repo = tmp_path / "git" / "team-orders" / "orders-api.git"
    gitops = tmp_path / "git" / "platform" / "gitops.git"

    # The worker froze inside the step, after its side effect, before the step was recorded.
    wait_for(lambda: (tmp_path / "paused").exists(), timeout=60)
    celery_worker.kill()
    step = Step.objects.get(run=run, key=step_key)
    assert step.status == StepStatus.RUNNING
    assert not Run.objects.get(pk=run.pk).is_finished
    assert _git(repo, "rev-list", "--count", "main") == "1"

    celery_worker.start()  # a fresh worker; the dead one's message is stuck with it
    # The step's lease (PAVED_STEP_LEASE_SECONDS, 3 s here, as for every kind) expires once the
    # dead worker stops extending it; then the scheduler's recovery job hands it over.
    wait_for(
        lambda: Step.objects.get(pk=step.pk).lease_expires_at < timezone.now(),
        timeout=10, interval=0.2,
    )  # fmt: skip
    assert recover_stalled_steps() >= 1
    wait_for(lambda: Run.objects.get(pk=run.pk).is_finished, timeout=90, interval=0.5)

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, (run.error, celery_worker.logs())
    step.refresh_from_db()
    assert step.attempt == 2
    statuses = dict(run.steps.values_list("key", "status"))
    # Exactly one on-call step runs (the template's choice); every other step succeeded.
    oncall = {k: v for k, v in statuses.items() if k.startswith("oncall-")}
    assert sorted(oncall.values()) == [StepStatus.SKIPPED, StepStatus.SKIPPED, StepStatus.SUCCEEDED]
    assert all(v == StepStatus.SUCCEEDED for k, v in statuses.items() if k not in oncall)
    taken_over = run.log_lines.filter(message__startswith="Taking over step ")
    assert list(taken_over.values_list("step__key", flat=True)) == [step_key]
    step_log = list(run.log_lines.filter(step=step).values_list("message", flat=True))
    if step_key == "publish":
        assert sum(m.startswith("Pushed ") for m in step_log) == 1  # only the dead worker pushed
        assert sum(m.startswith("The repository already has these") for m in step_log) == 1
    elif step_key == "argocd":
        assert [m.rsplit(" on ", 1)[0] for m in step_log if m.startswith("Argo CD")] == [
            "Argo CD application orders-api-dev created",
            "Argo CD application orders-api-dev already in place",
        ]

    # Exactly once, on the real artefacts.
    repos = sorted(
        p.relative_to(tmp_path / "git").as_posix() for p in (tmp_path / "git").glob("*/*.git")
    )
    assert repos == ["platform/gitops.git", "team-orders/orders-api.git"]
    assert _git(repo, "rev-list", "--count", "main") == "1"
    assert _git(repo, "for-each-ref", "--format=%(refname)", "refs/heads") == "refs/heads/main"
    publish = run.steps.get(key="publish")
    assert publish.outputs["commitHash"] == _git(repo, "rev-parse", "main")

    touching = _git(gitops, "log", "--format=%s", "main", "--", "*orders-api*").splitlines()
    assert len(touching) == 2, touching  # one commit for the namespace, one for the application
    assert sum("namespace" in t.lower() for t in touching) == 1, touching
    assert sum("argo cd application" in t.lower() for t in touching) == 1, touching

    assert Entity.objects.filter(ref="component:default/orders-api").count() == 1
    assert Entity.objects.filter(kind="Component", name="orders-api").count() == 1
    assert Location.objects.filter(target__contains="orders-api").count() == 1
