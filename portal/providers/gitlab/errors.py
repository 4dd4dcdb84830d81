"""Map python-gitlab/requests failures onto the provider error taxonomy."""

from __future__ import annotations

import requests
from gitlab.exceptions import GitlabError

from portal.providers.base import (
    PermanentProviderError,
    ProviderError,
    ProviderNotConfigured,
    TransientProviderError,
)

PROVIDER = "gitlab"


def error_message(exc: GitlabError) -> str:
    message: object = exc.error_message  # a str, or the raw body's bytes on some answers
    if isinstance(message, bytes):
        message = message.decode(errors="replace")
    return str(message or f"HTTP {exc.response_code}")


def map_error(exc: Exception, doing: str) -> ProviderError | Exception:
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, GitlabError):
        status = exc.response_code or 0
        message = f"{doing}: {error_message(exc)} (HTTP {status})"
        if status == 401:
            return ProviderNotConfigured(
                f"{doing}: GitLab rejected the token (HTTP 401); check PAVED_GITLAB_TOKEN",
                provider=PROVIDER,
            )
        if status == 429:
            return TransientProviderError(
                f"{doing}: GitLab rate limit", provider=PROVIDER, retry_after=60
            )
        if status >= 500 or status == 0:
            return TransientProviderError(message, provider=PROVIDER)
        return PermanentProviderError(message, provider=PROVIDER)
    if isinstance(exc, requests.Timeout):
        return TransientProviderError(f"{doing}: GitLab did not answer in time", provider=PROVIDER)
    if isinstance(exc, requests.RequestException):
        return TransientProviderError(f"{doing}: cannot reach GitLab ({exc})", provider=PROVIDER)
    return exc
