"""Helpers for fault tests that need more of the production stack than one worker: the beat
scheduler as a real process, and the environment of a golden-path run on the local git host."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, wait_for


class BeatProcess:
    """`celery beat` in a subprocess: it sends the recovery job every PAVED_RECOVERY_INTERVAL s."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "beat", "--loglevel=INFO",
             "-s", str(self.log_dir / "beat-schedule")],
            cwd=ROOT, env=self.env, stdout=(self.log_dir / "beat.log").open("wb"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def golden_path_env(base: dict[str, str], tmp_path: Path, pause_on: str) -> dict[str, str]:
    """A worker on the embedded providers (local bare repositories, the GitOps repository) that
    freezes once a log line starts with `pause_on` (tests/faults/pause.py)."""
    return {
        **base,
        "PAVED_GIT_LOCAL_ROOT": str(tmp_path / "git"),
        "PAVED_GIT_PROVIDER": "local",
        "PAVED_DEPLOY_PROVIDER": "gitops",
        "PAVED_CLUSTER_PROVIDER": "gitops",
        "PAVED_EXTRA_STEP_MODULES": "tests.engine.steps,tests.faults.pause",
        "PAVED_TEST_PAUSE_ON": pause_on,
        "PAVED_TEST_PAUSE_MARKER": str(tmp_path / "paused"),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """A redis-server of our own on a free port, so stopping it disturbs nobody else."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(self._answers, timeout=10)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def freezing_git(bin_dir: Path, *, git_dir_suffix: str, marker: Path) -> str:
    """Write a `git` into `bin_dir` that, the first time it is asked to set http.receivepack in
    a repository whose GIT_DIR ends with `git_dir_suffix`, writes `marker` and then waits until
    the process that called it dies: a worker frozen in the middle of a repository creation,
    with the real provider code. Every other call is the real git. Returns a PATH with it."""
    real_git = shutil.which("git")
    assert real_git, "git is needed"
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "git"
    script.write_text(f"""#!/bin/sh
# The provider calls `git -c gc.autoDetach=false config http.receivepack false`.
if [ "$3" = config ] && [ "$4" = http.receivepack ] && [ ! -e '{marker}' ]; then
  case "$GIT_DIR" in
    *'{git_dir_suffix}')
      echo "$PPID" > '{marker}'
      while kill -0 "$PPID" 2>/dev/null; do sleep 0.1; done
      exit 1;;
  esac
fi
exec '{real_git}' "$@"
""")
    script.chmod(0o755)
    return f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"
