"""`github` git host (PyGithub; token or GitHub App installation)."""

from __future__ import annotations

from portal.providers.github.provider import GitHubHost
from portal.providers.registry import GIT_HOSTS


@GIT_HOSTS.register("github")
def make_github_host() -> GitHubHost:
    return GitHubHost()


__all__ = ["GitHubHost", "make_github_host"]
