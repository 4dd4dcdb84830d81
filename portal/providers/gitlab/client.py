"""The only module that builds a python-gitlab client: from settings, with a timeout."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import gitlab
from django.conf import settings

from portal.providers.base import PermanentProviderError, ProviderNotConfigured
from portal.providers.gitlab.errors import PROVIDER


@dataclass(frozen=True)
class GitLabSettings:
    url: str
    host: str  # what templates write in repoUrl (`gitlab.example.com?owner=...`)
    token: str
    timeout: int

    @classmethod
    def from_settings(cls) -> GitLabSettings:
        url = str(settings.PAVED_GITLAB_URL).rstrip("/")
        return cls(
            url=url,
            host=(settings.PAVED_GITLAB_HOST or urlsplit(url).netloc).lower(),
            token=settings.PAVED_GITLAB_TOKEN,
            timeout=settings.PAVED_PROVIDER_TIMEOUT,
        )

    def __repr__(self) -> str:  # never show the token in tracebacks or logs
        return f"GitLabSettings(url={self.url!r}, host={self.host!r})"

    def problems(self) -> list[str]:
        if not self.token:
            return [
                "gitlab: no GitLab integration is configured; set PAVED_GITLAB_URL and "
                "PAVED_GITLAB_TOKEN(_FILE) (a token with the api scope)"
            ]
        return []

    def check_host(self, host: str) -> None:
        """A template's repoUrl must name the configured GitLab instance: Paved holds a token
        for that one only, and never sends it elsewhere."""
        if host.lower() != self.host:
            raise PermanentProviderError(
                f"repoUrl names the GitLab host {host!r}, but the configured GitLab integration "
                f"is {self.host!r} (PAVED_GITLAB_HOST); use {self.host}?owner=<group>&repo=<name>",
                provider=PROVIDER,
            )


def make_client(config: GitLabSettings) -> gitlab.Gitlab:
    """No retries inside python-gitlab: the run engine retries the step on transient errors."""
    problems = config.problems()
    if problems:
        raise ProviderNotConfigured("; ".join(problems), provider=PROVIDER)
    return gitlab.Gitlab(
        config.url,
        private_token=config.token,
        timeout=config.timeout,
        retry_transient_errors=False,
        keep_base_url=True,
    )
