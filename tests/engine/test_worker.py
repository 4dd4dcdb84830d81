"""The run engine with a real Celery worker on Redis and the real PostgreSQL test database."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from runs.models import Run, RunStatus, Step, StepStatus
from runs.runner import StepSpec, recover_stalled_steps, start_run
from tests.conftest import WorkerProcess, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _finished(run: Run) -> Run | None:
    run.refresh_from_db()
    return run if run.is_finished else None


def test_three_step_run_completes(celery_worker: WorkerProcess) -> None:
    run = start_run(
        kind="demo",
        title="three steps",
        actor=None,
        steps=[
            StepSpec("hello", "debug:log", inputs={"message": "hello from step one"}),
            StepSpec("pause", "debug:wait", inputs={"milliseconds": 200}),
            StepSpec("effect", "test:side-effect", inputs={"label": "third"}),
        ],
    )
    wait_for(lambda: _finished(run), timeout=30)
    assert run.status == RunStatus.SUCCEEDED, celery_worker.logs()
    steps = list(run.steps.order_by("position"))
    assert [s.status for s in steps] == [StepStatus.SUCCEEDED] * 3
    assert steps[2].outputs == {"label": "third", "attempt": 1}
    messages = list(run.log_lines.order_by("seq").values_list("message", flat=True))
    assert "hello from step one" in messages
    assert messages[-1] == "Run finished: every step succeeded."
    assert list(run.log_lines.values_list("seq", flat=True)) == list(range(1, len(messages) + 1))


def test_transient_error_is_retried_until_it_succeeds(celery_worker: WorkerProcess) -> None:
    run = start_run(
        kind="demo",
        title="flaky",
        actor=None,
        steps=[StepSpec("flaky", "test:flaky", inputs={"failures": 2})],
    )
    wait_for(lambda: _finished(run), timeout=30)
    assert run.status == RunStatus.SUCCEEDED, celery_worker.logs()
    step = run.steps.get()
    assert step.attempt == 3
    assert step.outputs == {"attempts": 3}
    warnings = run.log_lines.filter(level="WARNING").values_list("message", flat=True)
    assert sum("Temporary problem" in m for m in warnings) == 2


def test_permanent_error_fails_the_run_with_the_providers_message(
    celery_worker: WorkerProcess,
) -> None:
    run = start_run(
        kind="demo",
        title="broken",
        actor=None,
        steps=[
            StepSpec("first", "test:side-effect", inputs={"label": "kept"}),
            StepSpec("broken", "test:broken", inputs={}),
        ],
    )
    wait_for(lambda: _finished(run), timeout=30)
    assert run.status == RunStatus.FAILED
    assert "repository name is taken" in run.error
    assert run.steps.get(key="broken").attempt == 1  # permanent: not retried


def test_killed_worker_mid_step_is_taken_over_and_completes_exactly_once(
    celery_worker: WorkerProcess, worker_env: dict[str, str]
) -> None:
    effects = Path(worker_env["PAVED_TEST_SIDE_EFFECTS"])
    run = start_run(
        kind="demo",
        title="kill me",
        actor=None,
        steps=[
            StepSpec("slow", "test:side-effect", inputs={"label": "slow", "seconds": 6}),
            StepSpec("after", "test:side-effect", inputs={"label": "after"}),
        ],
    )
    # Wait until the slow step has done its side effect and is still working.
    wait_for(lambda: (effects / f"run{run.pk}-slow").exists(), timeout=30)
    celery_worker.kill()
    step = Step.objects.get(run=run, key="slow")
    assert step.status == StepStatus.RUNNING

    celery_worker.start()  # a fresh worker; the old message is stuck with the dead one
    # Once the lease (PAVED_STEP_LEASE_SECONDS, 3 s in worker_env) has expired, the scheduler's recovery job
    # re-enqueues the step and the new worker takes it over.
    wait_for(
        lambda: (Step.objects.get(pk=step.pk).lease_expires_at or timezone.now()) < timezone.now(),
        timeout=10,
    )
    assert recover_stalled_steps() >= 1
    wait_for(lambda: _finished(run), timeout=40)
    assert run.status == RunStatus.SUCCEEDED, celery_worker.logs()
    step.refresh_from_db()
    assert step.attempt == 2
    journal = (effects / "journal").read_text().splitlines()
    assert journal == [f"{run.pk}:slow", f"{run.pk}:after"]  # each side effect exactly once
    assert run.log_lines.filter(message__startswith="Taking over step 'slow'").count() == 1
