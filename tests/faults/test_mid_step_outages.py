"""Outages while a step is running, with real processes: the broker (a private Redis) stops and
comes back empty, or the database link is cut behind a loopback proxy. The worker stays up,
the step is taken over once the outage ends, every side effect happens exactly once, and the
worker says what happened in one line instead of a traceback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from runs.models import Run, RunStatus
from runs.runner import StepSpec, start_run
from tests.conftest import WorkerProcess, wait_for
from tests.faults.stack import BeatProcess, PrivateRedis
from tests.faults.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def _two_steps(seconds: float) -> Run:
    return start_run(kind="demo", title="outage mid-step", actor=None, steps=[
        StepSpec("slow", "test:side-effect", inputs={"label": "one", "seconds": seconds}),
        StepSpec("next", "test:side-effect", inputs={"label": "two"}),
    ])  # fmt: skip


def _run_with(worker: WorkerProcess, beat: BeatProcess, scenario: object) -> None:
    try:
        worker.start()
        beat.start()
        scenario()  # type: ignore[operator]
    finally:
        beat.stop()
        worker.stop()


def test_broker_lost_while_a_step_runs_worker_exits_supervisor_restarts_run_completes_once(
    private_redis: PrivateRedis, worker_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**worker_env, "CELERY_BROKER_URL": private_redis.url,
           "PAVED_RECOVERY_INTERVAL": "1", "PAVED_STEP_REQUEUE_SECONDS": "3"}  # fmt: skip
    effects = Path(env["PAVED_TEST_SIDE_EFFECTS"])
    worker = WorkerProcess(env, tmp_path, broker_url=private_redis.url)
    beat = BeatProcess(env, tmp_path)

    def scenario() -> None:
        worker.supervise()
        run = _two_steps(seconds=3)
        wait_for(lambda: (effects / f"run{run.pk}-slow").exists(), timeout=30)
        private_redis.stop()  # mid-step; it comes back empty, without the queued messages
        time.sleep(2)
        private_redis.start()
        wait_for(lambda: Run.objects.get(pk=run.pk).is_finished, timeout=60, interval=0.5)
        run.refresh_from_db()
        assert run.status == RunStatus.SUCCEEDED, worker.logs()
        # With a task in flight, Celery 5.7's worker cannot hand the unacknowledged message
        # back to the vanished broker and exits; its supervisor starts it again.
        logs = worker.logs()
        assert "Connection to broker lost" in logs
        assert "Unrecoverable error" in logs
        assert worker.generation >= 2
        journal = (effects / "journal").read_text().splitlines()
        assert journal == [f"{run.pk}:slow", f"{run.pk}:next"]

    _run_with(worker, beat, scenario)


def test_broker_lost_while_the_worker_is_idle_worker_reconnects_by_itself(
    private_redis: PrivateRedis, worker_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**worker_env, "CELERY_BROKER_URL": private_redis.url,
           "PAVED_RECOVERY_INTERVAL": "1", "PAVED_STEP_REQUEUE_SECONDS": "3"}  # fmt: skip
    effects = Path(env["PAVED_TEST_SIDE_EFFECTS"])
    worker = WorkerProcess(env, tmp_path, broker_url=private_redis.url)  # no supervisor
    beat = BeatProcess(env, tmp_path)

    def scenario() -> None:
        private_redis.stop()
        time.sleep(2)
        private_redis.start()
        run = _two_steps(seconds=0)
        wait_for(lambda: Run.objects.get(pk=run.pk).is_finished, timeout=60, interval=0.5)
        run.refresh_from_db()
        assert run.status == RunStatus.SUCCEEDED, worker.logs()
        # The same process reconnected: nothing in flight, nothing to hand back.
        assert worker.proc is not None
        assert worker.proc.poll() is None
        assert worker.generation == 1
        logs = worker.logs()
        assert "Connection to broker lost" in logs
        assert "Traceback" not in logs
        journal = (effects / "journal").read_text().splitlines()
        assert journal == [f"{run.pk}:slow", f"{run.pk}:next"]

    _run_with(worker, beat, scenario)


def test_database_lost_while_a_step_runs_step_is_taken_over_once_it_is_back(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    db = connection.settings_dict
    proxy = TcpProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    env = {**worker_env, "PAVED_RECOVERY_INTERVAL": "1",
           "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}"}  # fmt: skip
    effects = Path(env["PAVED_TEST_SIDE_EFFECTS"])
    worker = WorkerProcess(env, tmp_path)
    beat = BeatProcess(env, tmp_path)

    def scenario() -> None:
        run = _two_steps(seconds=2)
        wait_for(lambda: (effects / f"run{run.pk}-slow").exists(), timeout=30)
        proxy.cut()  # the step finishes its work while the database is away
        time.sleep(5)
        proxy.restore()
        wait_for(lambda: Run.objects.get(pk=run.pk).is_finished, timeout=60, interval=0.5)
        run.refresh_from_db()
        assert run.status == RunStatus.SUCCEEDED, worker.logs()
        slow = run.steps.get(key="slow")
        assert slow.attempt == 2  # taken over after the outage, not failed
        assert run.log_lines.filter(message__startswith="Taking over step 'slow'").count() == 1
        journal = (effects / "journal").read_text().splitlines()
        assert journal == [f"{run.pk}:slow", f"{run.pk}:next"]
        logs = worker.logs()
        assert f"step {slow.pk} stopped: the database is unreachable" in logs
        assert "Traceback" not in logs

    try:
        _run_with(worker, beat, scenario)
    finally:
        proxy.close()
