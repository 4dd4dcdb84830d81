"""The only place that runs the `git` binary: argument lists, timeouts, no prompts."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from portal.providers.local_git.errors import GitCommandError

GIT_TIMEOUT = 60  # seconds; a local git command that takes longer is stuck, not slow

AUTHOR_NAME = "Paved"
AUTHOR_EMAIL = "paved@localhost"


def git_env(git_dir: Path | None = None, **extra: str) -> dict[str, str]:
    env = {
        # A minimal, predictable environment: no user config, no prompts, no pager.
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108  git wants a HOME; config is ignored below
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": AUTHOR_NAME,
        "GIT_AUTHOR_EMAIL": AUTHOR_EMAIL,
        "GIT_COMMITTER_NAME": AUTHOR_NAME,
        "GIT_COMMITTER_EMAIL": AUTHOR_EMAIL,
        "LC_ALL": "C",
    }
    if git_dir is not None:
        env["GIT_DIR"] = str(git_dir)
    env.update(extra)
    return env


def run_git(
    args: list[str],
    *,
    git_dir: Path | None = None,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = GIT_TIMEOUT,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    full_env = git_env(git_dir, **(env or {}))
    proc = subprocess.run(
        ["git", "-c", "gc.autoDetach=false", *args],
        input=input,
        env=full_env,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise GitCommandError(args, proc.returncode, proc.stderr.decode(errors="replace"))
    return proc


def git_out(args: list[str], *, git_dir: Path, **kwargs: object) -> str:
    return run_git(args, git_dir=git_dir, **kwargs).stdout.decode().strip()  # type: ignore[arg-type]
