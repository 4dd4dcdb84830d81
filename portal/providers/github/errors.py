"""Map PyGithub/requests failures onto the provider error taxonomy."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import requests
from github import GithubException

from portal.providers.base import (
    PermanentProviderError,
    ProviderError,
    ProviderNotConfigured,
    TransientProviderError,
)
from portal.providers.retry_after import parse_retry_after

PROVIDER = "github"
SECONDARY_LIMIT_WAIT = 60.0  # GitHub: "wait at least one minute" when no Retry-After is given


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def error_message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.message or "")
    # Errors are objects ({"resource", "field", "code", "message"}) or, on some operations,
    # plain strings ("validation-failed-simple" in GitHub's API description).
    details = [
        str(e.get("message", "")) if isinstance(e, dict) else str(e) for e in data.get("errors", [])
    ]
    return "; ".join(x for x in [message, *details] if x) or f"HTTP {exc.status}"


def retry_after(exc: GithubException) -> float | None:
    """Seconds to wait for a rate limit: Retry-After, else X-RateLimit-Reset, else a minute for
    secondary limits; None when this is not a rate limit at all."""
    headers = exc.headers or {}
    wait = parse_retry_after(_header(headers, "Retry-After"))
    if wait is not None:
        return wait
    message = error_message(exc).lower()
    remaining = _header(headers, "X-RateLimit-Remaining")
    if exc.status == 429 or remaining == "0" or "rate limit" in message:
        reset = _header(headers, "X-RateLimit-Reset")
        if remaining == "0" and reset and reset.isdigit():
            return max(1.0, float(reset) - time.time())
        return SECONDARY_LIMIT_WAIT
    return None


def map_error(exc: Exception, doing: str) -> ProviderError | Exception:
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, GithubException):
        message = f"{doing}: {error_message(exc)} (HTTP {exc.status})"
        wait = retry_after(exc) if exc.status in (403, 429) else None
        if wait is not None:
            return TransientProviderError(
                f"{doing}: GitHub rate limit, retry in {int(wait)} s",
                provider=PROVIDER,
                retry_after=wait,
            )
        if exc.status == 401:
            return ProviderNotConfigured(
                f"{doing}: GitHub rejected the credentials (HTTP 401); check "
                "PAVED_GITHUB_TOKEN or the GitHub App settings",
                provider=PROVIDER,
            )
        if exc.status >= 500:
            return TransientProviderError(message, provider=PROVIDER)
        return PermanentProviderError(message, provider=PROVIDER)
    if isinstance(exc, requests.Timeout):
        return TransientProviderError(f"{doing}: GitHub did not answer in time", provider=PROVIDER)
    if isinstance(exc, requests.RequestException):
        return TransientProviderError(f"{doing}: cannot reach GitHub ({exc})", provider=PROVIDER)
    return exc
