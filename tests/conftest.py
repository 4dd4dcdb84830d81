"""Shared fixtures: the three personas, and a real Celery worker in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection

import tests.engine.steps  # noqa: F401  (registers the test step kinds in this process)
from catalog.models import Entity, Relation, make_ref

ROOT = Path(__file__).resolve().parent.parent


# A worker test starts a Celery worker process and waits for runs; a hung one fails in minutes.
WORKER_TEST_TIMEOUT = 300


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        uses_worker = item.get_closest_marker("worker") or "celery_worker" in getattr(
            item, "fixturenames", ()
        )
        if uses_worker and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(WORKER_TEST_TIMEOUT))


def make_group(name: str) -> Entity:
    return Entity.objects.get_or_create(
        ref=make_ref("Group", "default", name),
        defaults={"kind": "Group", "name": name, "spec": {"type": "team"}},
    )[0]


def make_member(username: str, group: Entity, **extra: Any) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "pw-for-tests-1", **extra)
    person = Entity.objects.create(
        kind="User", name=username, user=user, spec={"profile": {"email": user.email}}
    )
    Relation.objects.create(source=person, type="memberOf", target_ref=group.ref, target=group)
    return user


@pytest.fixture(autouse=True)
def _vendor_api_contract() -> Iterator[None]:
    """Every request a provider sent to a vendor's fake, and every answer the fake gave, must
    be valid for the vendor's own API description (tests/contracts/): a call the real API would
    refuse, or a field it never returns, fails the test that exchanged it."""
    from tests.contracts.recorder import contract_problems
    from tests.fakes.http import RUNNING

    RUNNING.clear()
    yield
    fakes, RUNNING[:] = list(RUNNING), []
    problems = [p for fake in fakes for p in contract_problems(fake)]
    if problems:
        pytest.fail("API contract broken:\n  " + "\n  ".join(problems[:30]), pytrace=False)


@pytest.fixture(autouse=True)
def _quiet_daily_active_users(settings: Any) -> None:
    """The DAU middleware writes on a user's first request of the day, guarded by the shared
    cache; that would make query counts depend on test order. Its own tests turn it back on."""
    settings.PAVED_RECORD_DAILY_ACTIVE_USERS = False


@pytest.fixture
def team() -> Entity:
    return make_group("team-orders")


@pytest.fixture
def other_team() -> Entity:
    return make_group("team-payments")


@pytest.fixture
def owner(team: Entity) -> User:
    """A developer in the owning team (team-orders)."""
    return make_member("olivia", team)


@pytest.fixture
def outsider(other_team: Entity) -> User:
    """A developer of another team."""
    return make_member("oscar", other_team)


@pytest.fixture
def platform_admin() -> User:
    return make_member("pat", make_group("platform-team"), is_staff=True, is_superuser=True)


@pytest.fixture
def owner_client(client: Any, owner: User) -> Any:
    client.force_login(owner)
    return client


class WorkerProcess:
    """A real `celery worker` subprocess on the test database and the test broker."""

    def __init__(self, env: dict[str, str], log_dir: Path, broker_url: str | None = None) -> None:
        self.env = env
        self.broker_url = broker_url
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.generation = 0
        self._supervising = False

    def start(self) -> None:
        self.generation += 1
        log = open(self.log_dir / f"worker-{self.generation}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=threads",
             "--concurrency=2", "-Q", "default,provisioning", "--without-gossip",
             "--without-mingle", "--loglevel=INFO", "-n", f"test-{self.generation}@%h"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self._wait_ready()

    def _wait_ready(self) -> None:
        from portal.celery import app

        deadline = time.monotonic() + 30
        name = f"test-{self.generation}@"
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early; see {self.log_dir}")
            if self.broker_url is not None:
                # A private broker: trust the worker's own "ready" line.
                log = (self.log_dir / f"worker-{self.generation}.log").read_text(errors="replace")
                if f"{name}" in log and " ready." in log:
                    return
                time.sleep(0.3)
                continue
            replies = app.control.ping(timeout=0.5) or []
            if any(next(iter(reply)).startswith(name) for reply in replies):
                return
        raise RuntimeError(f"worker did not answer within 30 s; see {self.log_dir}")

    def supervise(self) -> None:
        """Restart the worker whenever it exits, as Kubernetes or systemd would. (Celery 5.7's
        worker exits when its Redis connection drops mid-task; its supervisor brings it back.)"""
        import threading

        self._supervising = True

        def loop() -> None:
            while self._supervising:
                if self.proc is not None and self.proc.poll() is not None:
                    self.start()
                time.sleep(0.5)

        threading.Thread(target=loop, daemon=True).start()

    def kill(self) -> None:
        """SIGKILL: no chance to ack, release or clean up — like a node that died."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        self._supervising = False
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))


def _require_redis_broker() -> str:
    broker = settings.CELERY_BROKER_URL
    if not broker.startswith("redis://"):
        pytest.fail(
            "worker tests need Redis: run them through `make test` (CELERY_BROKER_URL=redis://...)"
        )
    return broker


@pytest.fixture
def worker_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a worker subprocess that shares this test's database and broker."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": _require_redis_broker(),
        "PAVED_DATA_DIR": str(settings.PAVED_DATA_DIR),
        "PAVED_EXTRA_STEP_MODULES": "tests.engine.steps",
        "PAVED_STEP_RETRY_BACKOFF_SECONDS": "0",
        # Short leases: a killed worker's step is taken over within seconds (live steps keep
        # theirs through the engine's heartbeat).
        "PAVED_STEP_LEASE_SECONDS": "3",
        "PAVED_TEST_SIDE_EFFECTS": str(tmp_path / "side-effects"),
    }
    (tmp_path / "side-effects").mkdir()
    return env


@pytest.fixture
def celery_worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[WorkerProcess]:
    from portal.celery import app

    app.control.purge()
    logs = tmp_path / "worker-logs"
    logs.mkdir()
    worker = WorkerProcess(worker_env, logs)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def server_tmp() -> Iterator[Path]:
    """A temporary directory for an embedded PostgreSQL run as root. Not under pytest's
    tmp_path: every pytest session that starts makes /tmp/pytest-of-<user> private again,
    which would lock the server's own account out of its files mid-test."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="paved-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def scratch_database_url() -> Iterator[str]:
    """A new, empty database on the test server for a subprocess that runs its own migrations
    (the test database lives inside this test's transaction); dropped afterwards."""
    import secrets

    import psycopg
    from psycopg import sql

    db = connection.settings_dict
    name = f"paved_scratch_{secrets.token_hex(4)}"
    params = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"]}
    if db.get("PASSWORD"):
        params["password"] = db["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgres://{db['USER']}@{params['host']}:{params['port']}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def wait_for(predicate: Callable[[], Any], *, timeout: float = 30, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture
def fake_gitlab():
    from tests.fakes.gitlab import FakeGitLab

    fake = FakeGitLab().start()
    yield fake
    fake.stop()


@pytest.fixture
def gitlab_settings(settings, fake_gitlab):
    """The GitLab integration pointed at the loopback fake; templates write gitlab.example."""
    settings.PAVED_GITLAB_URL = fake_gitlab.url
    settings.PAVED_GITLAB_HOST = "gitlab.example"
    settings.PAVED_GITLAB_TOKEN = "glpat-test"
    settings.PAVED_PROVIDER_TIMEOUT = 5
    return settings
