"""The recovery job finishes what a dead worker left between two writes."""

from __future__ import annotations

import pytest
from django.utils import timezone

from runs.models import RunStatus, Step, StepStatus
from runs.runner import StepSpec, claim_step, recover_stalled_steps, start_run

pytestmark = pytest.mark.django_db


def test_run_whose_worker_died_after_recording_a_step_failure_is_finished_as_failed() -> None:
    run = start_run(kind="demo", title="t", actor=None, steps=[
        StepSpec("a", "debug:log", inputs={"message": "x"}),
        StepSpec("b", "debug:log", inputs={"message": "y"}),
    ])  # fmt: skip
    step = run.steps.get(key="a")
    assert claim_step(step.pk, "dead-worker", 60)
    # What the dead worker wrote before it died: the failure, not the run's end.
    Step.objects.filter(pk=step.pk).update(
        status=StepStatus.FAILED, error="boom", finished_at=timezone.now(), lease_expires_at=None
    )
    assert recover_stalled_steps() == 1
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error == "Step 'a' failed: boom"
    assert run.steps.get(key="b").status == StepStatus.PENDING  # nothing after it ran
    assert recover_stalled_steps() == 0  # and only once
