"""Every lease comes from PAVED_STEP_LEASE_SECONDS: a worker killed in any step, `publish`
included, is taken over within the lease plus the recovery interval, by the real scheduler and
a fresh worker; and a short lease never takes a step away from a worker that is still alive."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from runs.models import Run, RunLogLine, RunStatus, Step, StepStatus
from runs.runner import StepSpec, start_run
from scaffolder.demo import load_builtin_templates
from scaffolder.models import TemplateVersion
from scaffolder.services import start_template_run
from tests.conftest import WorkerProcess, wait_for
from tests.faults.stack import BeatProcess, golden_path_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

LEASE = 3
RECOVERY_INTERVAL = 2
# A fresh worker process needs a few seconds to start on a busy 2-core machine.
SLACK = 6
VALUES = {"name": "orders-api", "owner": "group:default/team-orders",
          "repoUrl": "localhost?owner=team-orders&repo=orders-api"}  # fmt: skip


@pytest.fixture
def stack_env(worker_env: dict[str, str], tmp_path: Path, settings: Any) -> dict[str, str]:
    settings.PAVED_GIT_LOCAL_ROOT = tmp_path / "git"
    return {
        **golden_path_env(worker_env, tmp_path, "Pushed "),
        "PAVED_STEP_LEASE_SECONDS": str(LEASE),
        "PAVED_RECOVERY_INTERVAL": str(RECOVERY_INTERVAL),
    }


@pytest.fixture
def beat(stack_env: dict[str, str], tmp_path: Path) -> Iterator[BeatProcess]:
    process = BeatProcess(stack_env, tmp_path)
    process.start()
    yield process
    process.stop()


@pytest.fixture
def worker(stack_env: dict[str, str], tmp_path: Path) -> Iterator[WorkerProcess]:
    from portal.celery import app

    app.control.purge()
    logs = tmp_path / "worker-logs"
    logs.mkdir()
    process = WorkerProcess(stack_env, logs)
    process.start()
    yield process
    process.stop()


@override_settings(
    PAVED_GIT_PROVIDER="local", PAVED_DEPLOY_PROVIDER="gitops", PAVED_CLUSTER_PROVIDER="gitops"
)
def test_worker_killed_in_publish_is_taken_over_within_lease_plus_recovery_interval(
    owner: User, worker: WorkerProcess, beat: BeatProcess, tmp_path: Path
) -> None:
    load_builtin_templates()
    version = TemplateVersion.objects.get(ref="template:default/python-service")
    run = start_template_run(version=version, values=VALUES, actor=owner)
    wait_for(lambda: (tmp_path / "paused").exists(), timeout=60)
    # Frozen after the push, before the step was recorded: the hardest moment.
    worker.kill()
    killed_at = time.time()
    publish = Step.objects.get(run=run, key="publish")
    assert publish.status == StepStatus.RUNNING
    worker.start()

    takeover = wait_for(
        lambda: RunLogLine.objects.filter(
            run=run, step__key="publish", message__startswith="Taking over step "
        ).first(),
        timeout=LEASE + RECOVERY_INTERVAL + SLACK + 10,
        interval=0.2,
    )
    latency = takeover.created_at.timestamp() - killed_at
    assert latency <= LEASE + RECOVERY_INTERVAL + SLACK, f"taken over after {latency:.1f} s"
    wait_for(lambda: Run.objects.get(pk=run.pk).is_finished, timeout=90, interval=0.5)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, (run.error, worker.logs())
    publish.refresh_from_db()
    assert publish.attempt == 2
    step_log = list(run.log_lines.filter(step=publish).values_list("message", flat=True))
    assert sum(m.startswith("Pushed ") for m in step_log) == 1


def test_short_lease_never_takes_a_live_step_away(
    worker: WorkerProcess, beat: BeatProcess, worker_env: dict[str, str]
) -> None:
    # The step works for three leases without calling ctx.heartbeat(); the engine's heartbeat
    # keeps its lease fresh while the scheduler's recovery job runs every few seconds.
    run = start_run(
        kind="demo",
        title="long but alive",
        actor=None,
        steps=[StepSpec("long", "test:side-effect", inputs={"label": "long", "seconds": 9})],
    )
    wait_for(lambda: Run.objects.get(pk=run.pk).is_finished, timeout=40, interval=0.5)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, worker.logs()
    step = run.steps.get()
    assert step.attempt == 1
    assert not run.log_lines.filter(message__startswith="Taking over").exists()
    journal = (Path(worker_env["PAVED_TEST_SIDE_EFFECTS"]) / "journal").read_text().splitlines()
    assert journal == [f"{run.pk}:long"]
