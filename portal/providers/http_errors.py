"""Map a JSON HTTP API's failures onto the provider error taxonomy (base.py), once for every
`requests`-based provider: 401/403 say which setting to fix, 429 waits as the server asks,
5xx and network trouble are transient, any other 4xx is permanent with the vendor's message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from portal.providers.base import (
    PermanentProviderError,
    ProviderError,
    ProviderNotConfigured,
    TransientProviderError,
)
from portal.providers.retry_after import parse_retry_after

DEFAULT_RATE_LIMIT_WAIT = 30.0


@dataclass(frozen=True)
class HttpApi:
    """How one vendor's API reports errors, and what to tell the platform team."""

    provider: str  # registry name, e.g. "pagerduty"
    label: str  # how people call it, e.g. "PagerDuty"
    unauthorized_hint: str  # after "rejected the credentials (HTTP 401…)."
    forbidden_hint: str  # after "may not do this (HTTP 403…)."
    detail_from_body: Callable[[Any], str]
    retry_headers: tuple[str, ...] = ("Retry-After",)


def error_detail(api: HttpApi, response: requests.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.text[:200].strip()
    return api.detail_from_body(body)[:500]


def error_for_response(api: HttpApi, response: requests.Response, doing: str) -> ProviderError:
    """The exception for a non-2xx answer. `doing` says what we were trying to do."""
    status = response.status_code
    detail = error_detail(api, response)
    suffix = f": {detail}" if detail else ""
    if status == 401:
        return ProviderNotConfigured(
            f"{doing}: {api.label} rejected the credentials (HTTP 401{suffix}). "
            f"{api.unauthorized_hint}",
            provider=api.provider,
        )
    if status == 403:
        return ProviderNotConfigured(
            f"{doing}: the {api.label} credentials may not do this (HTTP 403{suffix}). "
            f"{api.forbidden_hint}",
            provider=api.provider,
        )
    if status == 429:
        wait = next(
            (
                w
                for w in (parse_retry_after(response.headers.get(h)) for h in api.retry_headers)
                if w is not None
            ),
            DEFAULT_RATE_LIMIT_WAIT,
        )
        return TransientProviderError(
            f"{doing}: {api.label} rate limit reached; retry in {wait:.0f} s",
            provider=api.provider,
            retry_after=wait,
        )
    if status >= 500:
        return TransientProviderError(
            f"{doing}: {api.label} answered HTTP {status}{suffix}", provider=api.provider
        )
    return PermanentProviderError(
        f"{doing}: {api.label} refused the request (HTTP {status}{suffix})", provider=api.provider
    )


def error_for_exception(
    api: HttpApi, exc: requests.RequestException, doing: str, timeout: float
) -> ProviderError:
    if isinstance(exc, requests.Timeout):
        return TransientProviderError(
            f"{doing}: {api.label} did not answer within {timeout:g} s", provider=api.provider
        )
    return TransientProviderError(
        f"{doing}: cannot reach {api.label} ({exc})", provider=api.provider
    )
