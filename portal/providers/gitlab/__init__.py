"""`gitlab` git host (python-gitlab; a personal, group or project access token)."""

from __future__ import annotations

from portal.providers.gitlab.provider import GitLabHost
from portal.providers.registry import GIT_HOSTS


@GIT_HOSTS.register("gitlab")
def make_gitlab_host() -> GitLabHost:
    return GitLabHost()


__all__ = ["GitLabHost", "make_gitlab_host"]
