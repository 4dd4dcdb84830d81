"""`local` git host (the default): bare repositories under the data directory."""

from __future__ import annotations

from portal.providers.local_git.provider import LocalGitHost
from portal.providers.registry import GIT_HOSTS


@GIT_HOSTS.register("local")
def make_local_git_host() -> LocalGitHost:
    return LocalGitHost()


__all__ = ["LocalGitHost", "make_local_git_host"]
