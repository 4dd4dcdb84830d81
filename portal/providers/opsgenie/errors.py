"""Map Opsgenie REST API v2 failures onto the provider error taxonomy (base.py).

Opsgenie error bodies look like ``{"message": "Could not authenticate", "took": 0.0,
"requestId": "..."}``; validation errors add ``"errors": {"field": "problem"}``.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from portal.providers.base import (
    PermanentProviderError,
    ProviderError,
    ProviderNotConfigured,
    TransientProviderError,
)

PROVIDER = "opsgenie"
DEFAULT_RATE_LIMIT_WAIT = 30.0


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def error_detail(response: requests.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.text[:200].strip()
    if not isinstance(body, dict):
        return ""
    parts = [str(body.get("message") or "")]
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts += [f"{field}: {problem}" for field, problem in errors.items()]
    return "; ".join(p for p in parts if p)


def error_for_response(response: requests.Response, doing: str) -> ProviderError:
    """The exception for a non-2xx answer. `doing` says what we were trying to do."""
    status = response.status_code
    detail = error_detail(response)
    suffix = f": {detail}" if detail else ""
    if status == 401:
        return ProviderNotConfigured(
            f"{doing}: Opsgenie rejected the API key (HTTP 401{suffix}). Set "
            "PAVED_OPSGENIE_API_KEY (or PAVED_OPSGENIE_API_KEY_FILE) to a valid API "
            "integration key, and PAVED_OPSGENIE_API_URL to https://api.eu.opsgenie.com for EU "
            "accounts",
            provider=PROVIDER,
        )
    if status == 403:
        return ProviderNotConfigured(
            f"{doing}: the Opsgenie API key may not do this (HTTP 403{suffix}). Give the key in "
            "PAVED_OPSGENIE_API_KEY the Read, Create and Update access rights",
            provider=PROVIDER,
        )
    if status == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        wait = DEFAULT_RATE_LIMIT_WAIT if wait is None else wait
        return TransientProviderError(
            f"{doing}: Opsgenie rate limit reached; retry in {wait:.0f} s",
            provider=PROVIDER,
            retry_after=wait,
        )
    if status >= 500:
        return TransientProviderError(
            f"{doing}: Opsgenie answered HTTP {status}{suffix}", provider=PROVIDER
        )
    return PermanentProviderError(
        f"{doing}: Opsgenie refused the request (HTTP {status}{suffix})", provider=PROVIDER
    )


def error_for_exception(
    exc: requests.RequestException, doing: str, timeout: float
) -> ProviderError:
    if isinstance(exc, requests.Timeout):
        return TransientProviderError(
            f"{doing}: Opsgenie did not answer within {timeout:g} s", provider=PROVIDER
        )
    return TransientProviderError(f"{doing}: cannot reach Opsgenie ({exc})", provider=PROVIDER)
