"""Map failures of the `git` binary onto the provider error taxonomy."""

from __future__ import annotations

import subprocess

from portal.providers.base import PermanentProviderError, TransientProviderError

PROVIDER = "local git"


class GitCommandError(Exception):
    """`git` exited non-zero; carries its stderr for the message."""

    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        super().__init__(f"git {' '.join(args)} failed ({returncode}): {stderr.strip()}")
        self.git_args = args
        self.returncode = returncode
        self.stderr = stderr


def map_error(exc: Exception) -> Exception:
    """Timeouts and lock contention are worth retrying; anything else is permanent."""
    if isinstance(exc, subprocess.TimeoutExpired):
        return TransientProviderError(f"git timed out after {exc.timeout} s", provider=PROVIDER)
    if isinstance(exc, GitCommandError):
        if "lock" in exc.stderr or "cannot lock ref" in exc.stderr:
            return TransientProviderError(
                f"repository is busy: {exc.stderr.strip()}", provider=PROVIDER, retry_after=1
            )
        return PermanentProviderError(str(exc), provider=PROVIDER)
    if isinstance(exc, FileNotFoundError):
        return PermanentProviderError("the `git` executable is not installed", provider=PROVIDER)
    return exc
