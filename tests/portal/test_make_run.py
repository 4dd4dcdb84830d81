"""`make run` on the embedded stack: the embedded PostgreSQL starts, URL and demo login are
printed, web answers, the worker runs a demo run through the filesystem broker, and Ctrl-C
(SIGINT to the process group) stops all, the database included.

This starts the real Makefile target in a throwaway PAVED_DATA_DIR on a free port; it takes
about half a minute (a new PostgreSQL cluster, migrations and demo data).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests

from portal.lib import embedded_postgres
from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]

# Up to 120 s to start, 180 s for the web server, 60 s for a run, then shutdown.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(480)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def descendants(pid: int) -> set[int]:
    """All live descendants of `pid` (honcho starts its children in their own sessions)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent has not read the status yet


def embedded_env(data_dir: Path, port: int) -> dict[str, str]:
    """A newcomer's shell: no DATABASE_URL/broker, nothing inherited from `make test`."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"
    env.update(PAVED_DATA_DIR=str(data_dir), PAVED_PORT=str(port))
    return env


class MakeRun:
    def __init__(self, proc: subprocess.Popen[str], log: Path, env: dict[str, str], port: int):
        self.proc, self.log, self.env, self.port = proc, log, env, port
        self.url = f"http://127.0.0.1:{port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, "PAVED_DEMO": "true"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout


@pytest.fixture
def make_run(tmp_path: Path, server_tmp: Path) -> Iterator[MakeRun]:
    port = free_port()
    env = embedded_env(server_tmp / "data", port)
    log = tmp_path / "make-run.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            # -o: treat the venv stamp as up to date (never reinstall the shared venv here).
            ["make", "--no-print-directory", "-o", ".venv/.installed", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, like a terminal's foreground job
        )
    running = MakeRun(proc, log, env, port)
    try:
        yield running
    finally:
        if proc.poll() is None:
            for pid in descendants(proc.pid) | {proc.pid}:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            proc.wait(10)
        # The database is detached from make: a failed test must not leave it running.
        subprocess.run(
            [sys.executable, "bin/embedded-postgres", "stop"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=15).status_code == 200
    except requests.RequestException:
        return False


def test_make_run_starts_everything_and_ctrl_c_stops_it(make_run: MakeRun) -> None:
    def up() -> bool:
        assert make_run.proc.poll() is None, make_run.output()
        return _healthy(make_run.url)

    wait_for(up, timeout=180, interval=0.5)
    out = make_run.output()
    assert f"http://127.0.0.1:{make_run.port}/" in out
    assert "alice / paved-demo" in out

    assert "PostgreSQL 18" in out
    assert "ready in" in out
    ready = requests.get(f"{make_run.url}/readyz", timeout=15).json()
    assert ready == {"status": "ok", "database": "embedded", "broker": "embedded", "problems": []}

    # The demo login printed above works.
    session = requests.Session()
    page = session.get(f"{make_run.url}/accounts/login/", timeout=15)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token
    signed_in = session.post(
        f"{make_run.url}/accounts/login/",
        data={"login": "alice", "password": "paved-demo", "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"{make_run.url}/accounts/login/"},
        timeout=15,
    )
    assert signed_in.url.rstrip("/") == make_run.url, signed_in.text[:500]
    assert "Demo data: sign in as" in page.text

    # An unknown URL shows Paved's own page, not Django's list of every URL pattern.
    missing = session.get(f"{make_run.url}/docs/runs.md", timeout=15)
    assert missing.status_code == 404
    assert "There is nothing here" in missing.text
    assert "URLconf" not in missing.text

    # The worker consumes tasks through the filesystem broker.
    started = make_run.manage("start_demo_run", "--seconds", "1")
    match = re.search(rf"Started run #(\d+): {re.escape(make_run.url)}/runs/(\d+)/", started)
    assert match, started
    run_id = int(match.group(1))
    layout = embedded_postgres.layout(Path(make_run.env["PAVED_DATA_DIR"]))

    def run_status() -> str:
        with psycopg.connect(
            host=str(layout.socket_dir), user="postgres", dbname="paved", connect_timeout=10
        ) as db:
            row = db.execute(
                "SELECT status FROM scaffolder_run WHERE id = %s", (run_id,)
            ).fetchone()
        return str(row[0])

    wait_for(lambda: run_status() in {"succeeded", "failed", "cancelled"}, timeout=60)
    assert run_status() == "succeeded", make_run.output()[-3000:]
    run_page = session.get(f"{make_run.url}/runs/{run_id}/", timeout=15)
    assert run_page.status_code == 200
    assert "Succeeded" in run_page.text

    # Ctrl-C: the terminal sends SIGINT to the foreground process group.
    processes = descendants(make_run.proc.pid)
    assert len(processes) >= 4  # honcho + web + worker + scheduler (+ their helpers)
    os.killpg(make_run.proc.pid, signal.SIGINT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (
        make_run.proc.poll() is None or any(alive(pid) for pid in processes)
    ):
        time.sleep(0.2)
    survivors = [pid for pid in processes if alive(pid)]
    assert make_run.proc.poll() is not None, "make did not exit within 15 s of Ctrl-C"
    assert not survivors, f"still running 15 s after Ctrl-C: {survivors}\n{make_run.output()}"
    out = make_run.output()
    for name in ("web.1", "worker.1", "scheduler.1"):
        assert re.search(rf"{name} stopped", out), out[-2000:]
    # Cleanly: every process finished its own shutdown within honcho's grace period.
    assert "sending SIGKILL" not in out, out[-2000:]
    # The database stopped last (pg_ctl detaches the server, so it is no descendant of make).
    server_log = (layout.root / "server.log").read_text(errors="replace")
    assert not (layout.pgdata / "postmaster.pid").exists(), out[-800:] + server_log[-1500:]
    assert not layout.socket.exists()
