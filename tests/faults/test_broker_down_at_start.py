"""Starting a run while the broker is down: the run is committed, so starting it never fails.
The web process (its own, whose broker is a Redis that is not running) answers with the run's
page, which says the run is queued and will start when the workers can be reached; /readyz
names the broker. When the broker comes back, the scheduler's recovery job starts the run, and
it runs exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from runs.models import Run, RunStatus, StepStatus
from scaffolder.demo import load_builtin_templates
from tests.conftest import ROOT, WorkerProcess, wait_for
from tests.faults.stack import BeatProcess, PrivateRedis, golden_path_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

WIZARD = "/create/default/python-service/"
STATE = json.dumps({
    "name": "orders-api", "owner": "group:default/team-orders", "lifecycle": "production",
    "repoUrl": "localhost?owner=team-orders&repo=orders-api", "environment": "dev", "port": 8000,
})  # fmt: skip


def _web(env: dict[str, str], user: str, requests: list[tuple[str, str, dict[str, Any]]]) -> Any:
    """Requests through Django's test client in a web process of its own (env: its broker)."""
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "exec(open('tests/faults/web_client.py').read())"],
        cwd=ROOT, env=env, input=json.dumps({"user": user, "requests": requests}) + "\n",
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("ANSWERS ")]
    assert lines, done.stderr[-3000:]
    return json.loads(lines[-1].removeprefix("ANSWERS ")), done.stderr


@override_settings(
    PAVED_GIT_PROVIDER="local", PAVED_DEPLOY_PROVIDER="gitops", PAVED_CLUSTER_PROVIDER="gitops"
)
def test_run_started_while_broker_is_down_is_queued_not_failed_and_runs_once_broker_is_back(
    owner: User, worker_env: dict[str, str], tmp_path: Path, settings: Any
) -> None:
    settings.PAVED_GIT_LOCAL_ROOT = tmp_path / "git"
    load_builtin_templates()
    broker = PrivateRedis(tmp_path)  # its port is chosen, but nothing listens there yet
    env = {
        **golden_path_env(worker_env, tmp_path, pause_on=""),
        "CELERY_BROKER_URL": broker.url,
        "PAVED_RECOVERY_INTERVAL": "1",
    }

    (create,), stderr = _web(env, "olivia", [
        ("POST", WIZARD, {"state": STATE, "page": "1", "action": "create"}),
    ])  # fmt: skip
    run = Run.objects.get()  # exactly one run, committed
    assert create["status"] == 302, create["body"][-2000:]
    assert create["location"] == f"/runs/{run.pk}/"
    assert create["messages"] == [
        f"Run #{run.pk} is saved and queued, but Paved's workers can't be reached right now. "
        "It will start on its own when they can; there is no need to start it again."
    ]
    assert "could not send scaffolder.advance_run" in stderr
    assert "Traceback" not in stderr
    page, ready = _web(env, "olivia", [("GET", f"/runs/{run.pk}/", {}), ("GET", "/readyz", {})])[0]
    assert page["status"] == 200
    assert (
        "This run is saved and queued: it will start on its own when they can be reached"
        in (page["body"])
    )
    assert ready["status"] == 503
    assert json.loads(ready["body"])["problems"] == ["broker unreachable: OperationalError"]
    # Nothing ran: the run waits, its steps untouched.
    run.refresh_from_db()
    assert run.status == RunStatus.PENDING
    assert set(run.steps.values_list("status", flat=True)) == {StepStatus.PENDING}
    assert not (tmp_path / "git" / "team-orders").exists()

    # The broker comes back: the scheduler's recovery job sends the lost message.
    broker.start()
    logs = tmp_path / "logs"
    logs.mkdir()
    worker = WorkerProcess(env, logs, broker_url=broker.url)
    beat = BeatProcess(env, logs)
    try:
        worker.start()
        beat.start()
        wait_for(lambda: Run.objects.get(pk=run.pk).is_finished, timeout=60, interval=0.5)
    finally:
        beat.stop()
        worker.stop()
        broker.stop()
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, (run.error, worker.logs())
    assert Run.objects.count() == 1
    repo = tmp_path / "git" / "team-orders" / "orders-api.git"
    commits = subprocess.run(["git", "--git-dir", str(repo), "rev-list", "--count", "main"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    assert commits == "1"
