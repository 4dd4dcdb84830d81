"""Faults with real services: the broker restarts and loses its messages; the database goes
away for a while. Nothing may be lost, and people see a friendly page meanwhile."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.db import connection

from runs.models import Run, RunStatus
from tests.conftest import ROOT, WorkerProcess, wait_for
from tests.faults.stack import PrivateRedis, free_port
from tests.faults.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is needed for the broker fault test")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


START_RUN = """
from runs.runner import StepSpec, start_run
run = start_run(kind="demo", title="survives a broker restart", actor=None, steps=[
    StepSpec("slow", "test:side-effect", inputs={"label": "one", "seconds": 2}),
    StepSpec("next", "test:side-effect", inputs={"label": "two"}),
])
print(run.pk)
"""


def test_broker_restart_loses_no_run(
    private_redis: PrivateRedis, worker_env: dict[str, str], tmp_path: Path
) -> None:
    """Web, worker and scheduler are real processes on a Redis that restarts empty mid-run."""
    env = {
        **worker_env,
        "CELERY_BROKER_URL": private_redis.url,
        "PAVED_DATA_DIR": str(tmp_path / "data"),
        "PAVED_RECOVERY_INTERVAL": "2",
        "PAVED_STEP_REQUEUE_SECONDS": "3",
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    worker = WorkerProcess(env, logs, broker_url=private_redis.url)
    beat = None
    try:
        worker.start()
        worker.supervise()
        beat = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "beat", "--loglevel=INFO",
             "-s", str(tmp_path / "beat-schedule")],
            cwd=ROOT, env=env, stdout=(logs / "beat.log").open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        started = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", START_RUN],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        run = Run.objects.get(pk=int(started.stdout.strip().splitlines()[-1]))
        effects = Path(env["PAVED_TEST_SIDE_EFFECTS"])
        wait_for(lambda: (effects / f"run{run.pk}-slow").exists(), timeout=30)
        # Redis goes away mid-step and comes back empty (no persistence): messages are gone.
        private_redis.stop()
        time.sleep(1)
        private_redis.start()

        wait_for(lambda: _finished(run), timeout=90, interval=1)
        assert run.status == RunStatus.SUCCEEDED, worker.logs()
        journal = (effects / "journal").read_text().splitlines()
        assert journal == [f"{run.pk}:slow", f"{run.pk}:next"]  # nothing lost, nothing twice
    finally:
        worker.stop()
        if beat is not None:
            beat.terminate()
            beat.wait(10)


def _finished(run: Run) -> bool:
    run.refresh_from_db()
    return run.is_finished


def test_database_outage_fails_readiness_shows_friendly_page_and_recovers(
    tmp_path: Path, owner
) -> None:
    db = connection.settings_dict
    proxy = TcpProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}",
        "PAVED_DB_CONN_MAX_AGE": "0",
        "PAVED_DATA_DIR": str(tmp_path),
        "PAVED_LOCAL_LOGIN": "true",
    }
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _status(f"{base}/healthz") == 200, timeout=30)
        assert _status(f"{base}/readyz") == 200
        session = requests.Session()
        login = session.get(f"{base}/accounts/login/", timeout=5)
        assert login.status_code == 200

        proxy.cut()
        ready = requests.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 503
        assert any("database" in p for p in ready.json()["problems"])
        assert _status(f"{base}/healthz") == 200  # the process itself is fine
        page = session.get(f"{base}/accounts/login/", timeout=10)
        assert page.status_code == 503
        assert "catching its breath" in page.text
        assert "Traceback" not in page.text

        proxy.restore()
        wait_for(lambda: _status(f"{base}/readyz") == 200, timeout=20)
        assert session.get(f"{base}/accounts/login/", timeout=5).status_code == 200
    finally:
        server.terminate()
        server.wait(10)
        proxy.close()


def _status(url: str) -> int:
    try:
        return requests.get(url, timeout=5).status_code
    except requests.RequestException:
        return 0
