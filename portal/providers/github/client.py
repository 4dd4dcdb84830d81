"""The only module importing PyGithub: builds an authenticated client from settings."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from github import Auth, Github, GithubIntegration

from portal.providers.base import ProviderNotConfigured
from portal.providers.github.errors import PROVIDER


@dataclass(frozen=True)
class GitHubSettings:
    api_url: str
    org: str
    token: str
    app_id: str
    app_private_key: str
    installation_id: str
    timeout: int
    throttle: bool

    @classmethod
    def from_settings(cls) -> GitHubSettings:
        return cls(
            api_url=settings.PAVED_GITHUB_API_URL,
            org=settings.PAVED_GITHUB_ORG,
            token=settings.PAVED_GITHUB_TOKEN,
            app_id=settings.PAVED_GITHUB_APP_ID,
            app_private_key=settings.PAVED_GITHUB_APP_PRIVATE_KEY,
            installation_id=settings.PAVED_GITHUB_INSTALLATION_ID,
            timeout=settings.PAVED_PROVIDER_TIMEOUT,
            throttle=settings.PAVED_GITHUB_THROTTLE,
        )

    def __repr__(self) -> str:  # never show credentials in tracebacks or logs
        return f"GitHubSettings(api_url={self.api_url!r}, org={self.org!r})"

    def problems(self) -> list[str]:
        if self.app_id or self.app_private_key:
            missing = [
                n
                for n, v in [
                    ("PAVED_GITHUB_APP_ID", self.app_id),
                    ("PAVED_GITHUB_APP_PRIVATE_KEY", self.app_private_key),
                ]
                if not v
            ]
            if not self.installation_id and not self.org:
                missing.append("PAVED_GITHUB_INSTALLATION_ID (or PAVED_GITHUB_ORG to look it up)")
            return [f"github: {name} is not set" for name in missing]
        if not self.token:
            return [
                "github: no credentials; set PAVED_GITHUB_TOKEN(_FILE) or the GitHub App "
                "settings PAVED_GITHUB_APP_ID, PAVED_GITHUB_APP_PRIVATE_KEY(_FILE)"
            ]
        return []


def make_client(config: GitHubSettings) -> Github:
    """A PyGithub client with a timeout and without PyGithub's own sleeping retries: rate limits
    surface as exceptions so the run engine can retry the step later."""
    problems = config.problems()
    if problems:
        raise ProviderNotConfigured("; ".join(problems), provider=PROVIDER)
    # PyGithub's pacing (0.25 s between requests, 1 s between writes) avoids GitHub's
    # secondary rate limits; tests against the loopback fake turn it off.
    between_requests = 0.25 if config.throttle else None
    between_writes = 1.0 if config.throttle else None
    if config.app_id:
        app_auth = Auth.AppAuth(int(config.app_id), config.app_private_key)
        installation_id = config.installation_id
        if not installation_id:
            integration = GithubIntegration(
                auth=app_auth, base_url=config.api_url, timeout=config.timeout, retry=None
            )
            installation_id = str(integration.get_org_installation(config.org).id)
        # The installation token (~1 h) is fetched lazily and refreshed by PyGithub.
        auth: Auth.Auth = app_auth.get_installation_auth(int(installation_id))
    else:
        auth = Auth.Token(config.token)
    return Github(
        auth=auth,
        base_url=config.api_url,
        timeout=config.timeout,
        retry=None,
        seconds_between_requests=between_requests,
        seconds_between_writes=between_writes,
    )
