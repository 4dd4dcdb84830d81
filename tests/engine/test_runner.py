"""Engine behaviour without a worker: the steps are executed in this process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from runs.models import Run, RunLogLine, RunStatus, Step, StepStatus
from runs.runner import (
    RunStartError,
    RunStateError,
    StepSpec,
    advance_run,
    cancel_run,
    claim_step,
    execute_step,
    recover_stalled_steps,
    retry_run,
    start_run,
)

pytestmark = pytest.mark.django_db


def _start(steps: list[StepSpec], actor: User | None = None) -> Run:
    return start_run(kind="demo", title="t", actor=actor, steps=steps)


def _drive(run: Run) -> Run:
    """Execute the run's steps here, in order, as a worker would."""
    for _ in range(20):
        advance_run(run.pk)
        run.refresh_from_db()
        if run.is_finished:
            return run
        step = run.steps.filter(status=StepStatus.PENDING).order_by("position").first()
        assert step is not None
        Step.objects.filter(pk=step.pk).update(not_before=None)
        execute_step(step.pk)
    raise AssertionError("run did not finish")


def test_start_enqueues_only_after_commit(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = _start([StepSpec("a", "debug:log", inputs={"message": "x"})])
    assert len(callbacks) == 1
    assert run.status == RunStatus.PENDING
    assert run.steps.count() == 1


def test_bad_input_never_half_starts_a_run() -> None:
    with pytest.raises(RunStartError) as excinfo:
        _start(
            [
                StepSpec("a", "debug:log", inputs={"message": "ok"}),
                StepSpec("b", "debug:wait", inputs={"seconds": "soon"}),
                StepSpec("c", "no:such-action"),
                StepSpec("a", "debug:log"),
            ]
        )
    problems = excinfo.value.problems
    assert any("step 2 (b): seconds: 'soon' is not of type 'number'" in p for p in problems)
    assert any("unknown step kind 'no:such-action'" in p for p in problems)
    assert any("id 'a' is used twice" in p for p in problems)
    assert Run.objects.count() == 0
    assert Step.objects.count() == 0


def test_a_claimed_step_cannot_be_claimed_twice() -> None:
    run = _start([StepSpec("a", "debug:log", inputs={"message": "x"})])
    step = run.steps.get()
    assert claim_step(step.pk, "worker-1", 60) is True
    assert claim_step(step.pk, "worker-2", 60) is False  # duplicate delivery: no-op
    assert execute_step(step.pk) == "not-claimed"


def test_expired_lease_lets_another_worker_take_over() -> None:
    run = _start([StepSpec("a", "debug:log", inputs={"message": "x"})])
    step = run.steps.get()
    assert claim_step(step.pk, "worker-1", 0) is True
    assert execute_step(step.pk) == "succeeded"
    step.refresh_from_db()
    assert step.attempt == 2
    assert RunLogLine.objects.filter(message__startswith="Taking over step").exists()


def test_failed_run_retries_from_the_failed_step_keeping_earlier_outputs(
    tmp_path: Path, owner: User
) -> None:
    flag = tmp_path / "fixed"
    run = _start(
        [
            StepSpec("first", "test:flaky", inputs={"failures": 0}),
            StepSpec("second", "test:broken", inputs={"unless_file": str(flag)}),
            StepSpec("third", "debug:log", inputs={"message": "done"}),
        ],
        actor=owner,
    )
    run = _drive(run)
    assert run.status == RunStatus.FAILED
    first = run.steps.get(key="first")
    assert run.steps.get(key="third").status == StepStatus.PENDING

    flag.write_text("now it works")
    restarted = retry_run(run, actor=owner)
    assert restarted.key == "second"
    run = _drive(run)
    assert run.status == RunStatus.SUCCEEDED
    again = run.steps.get(key="first")
    assert (again.attempt, again.outputs, again.finished_at) == (
        first.attempt,
        first.outputs,
        first.finished_at,
    )
    assert run.log_lines.filter(message__contains="Retry requested by olivia").exists()


def test_retry_is_refused_for_a_successful_run() -> None:
    run = _drive(_start([StepSpec("a", "debug:log", inputs={"message": "x"})]))
    with pytest.raises(RunStateError):
        retry_run(run, actor=None)


def test_cancel_stops_pending_steps() -> None:
    run = _start(
        [
            StepSpec("a", "debug:log", inputs={"message": "x"}),
            StepSpec("b", "debug:log", inputs={"message": "y"}),
        ]
    )
    cancel_run(run, actor=None)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert set(run.steps.values_list("status", flat=True)) == {StepStatus.CANCELLED}
    assert execute_step(run.steps.get(key="a").pk) == "not-claimed"
    with pytest.raises(RunStateError):
        cancel_run(run, actor=None)


def test_secrets_are_redacted_from_inputs_logs_and_errors() -> None:
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    run = _drive(_start([StepSpec("b", "test:broken", inputs={"token": token})]))
    step = run.steps.get()
    assert step.resolved_inputs == {"token": "[redacted]"}
    assert token not in step.error
    assert "[redacted]" in step.error
    assert token not in run.error
    assert not RunLogLine.objects.filter(message__contains=token).exists()


def test_recovery_requeues_a_run_whose_message_was_lost(
    django_capture_on_commit_callbacks, settings
) -> None:
    settings.PAVED_STEP_REQUEUE_SECONDS = 0
    run = _start([StepSpec("a", "debug:log", inputs={"message": "x"})])
    Step.objects.filter(run=run).update(enqueued_at=None)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert recover_stalled_steps() == 1
    assert len(callbacks) == 1
    assert run.steps.get().enqueued_at is not None


def test_list_workspace_logs_every_file_numbered_in_order_in_one_round_trip(
    django_assert_max_num_queries: Any,
) -> None:
    from runs.logging import append_logs
    from runs.workspace import workspace_for_run

    run = _start([StepSpec("list", "debug:log", inputs={"listWorkspace": True})])
    append_log_before = RunLogLine.objects.filter(run=run).count()
    root = workspace_for_run(run)
    for name in ("b.py", "a/z.txt", "a/100%.md", "README.md"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x", encoding="utf-8")
    run = _drive(run)
    assert run.status == RunStatus.SUCCEEDED
    lines = list(RunLogLine.objects.filter(run=run).order_by("seq").values_list("seq", "message"))
    listed = [m for _seq, m in lines if m in {"README.md", "a/100%.md", "a/z.txt", "b.py"}]
    assert listed == ["README.md", "a/100%.md", "a/z.txt", "b.py"]
    # Numbered without gaps, and the run's counter matches the last line.
    assert [seq for seq, _m in lines] == list(range(1, len(lines) + 1))
    run.refresh_from_db()
    assert run.log_seq == len(lines) > append_log_before
    # Many lines cost one statement, and secrets are redacted in each of them.
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    with django_assert_max_num_queries(1):
        seqs = append_logs(run.pk, [f"line {i} {token}" for i in range(50)])
    assert seqs == list(range(len(lines) + 1, len(lines) + 51))
    assert not RunLogLine.objects.filter(message__contains=token).exists()
    assert append_logs(run.pk, []) == []
    with pytest.raises(Run.DoesNotExist):
        append_logs(run.pk + 1000, ["nobody hears this"])
