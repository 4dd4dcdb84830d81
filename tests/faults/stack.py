"""Helpers for fault tests that need more of the production stack than one worker: the beat
scheduler as a real process, and the environment of a golden-path run on the local git host."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


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
