"""Map PagerDuty REST API v2 failures onto the provider error taxonomy (base.py).

PagerDuty error bodies look like
``{"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["Name has already been taken"]}}``
and rate limits answer 429 (with ``Retry-After`` / ``ratelimit-reset`` headers).
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

PROVIDER = "pagerduty"
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
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        parts = [str(error.get("message") or "")]
        parts += [str(e) for e in error.get("errors") or [] if e]
        return "; ".join(p for p in parts if p)
    return str(error or "")[:200]


def error_for_response(response: requests.Response, doing: str) -> ProviderError:
    """The exception for a non-2xx answer. `doing` says what we were trying to do."""
    status = response.status_code
    detail = error_detail(response)
    suffix = f": {detail}" if detail else ""
    if status == 401:
        return ProviderNotConfigured(
            f"{doing}: PagerDuty rejected the API token (HTTP 401{suffix}). Set "
            "PAVED_PAGERDUTY_TOKEN (or PAVED_PAGERDUTY_TOKEN_FILE) to a valid REST API key",
            provider=PROVIDER,
        )
    if status == 403:
        return ProviderNotConfigured(
            f"{doing}: the PagerDuty API token may not do this (HTTP 403{suffix}). Use a "
            "full-access (not read-only) REST API key in PAVED_PAGERDUTY_TOKEN",
            provider=PROVIDER,
        )
    if status == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        if wait is None:
            wait = parse_retry_after(response.headers.get("ratelimit-reset"))
        wait = DEFAULT_RATE_LIMIT_WAIT if wait is None else wait
        return TransientProviderError(
            f"{doing}: PagerDuty rate limit reached; retry in {wait:.0f} s",
            provider=PROVIDER,
            retry_after=wait,
        )
    if status >= 500:
        return TransientProviderError(
            f"{doing}: PagerDuty answered HTTP {status}{suffix}", provider=PROVIDER
        )
    return PermanentProviderError(
        f"{doing}: PagerDuty refused the request (HTTP {status}{suffix})", provider=PROVIDER
    )


def error_for_exception(
    exc: requests.RequestException, doing: str, timeout: float
) -> ProviderError:
    if isinstance(exc, requests.Timeout):
        return TransientProviderError(
            f"{doing}: PagerDuty did not answer within {timeout:g} s", provider=PROVIDER
        )
    return TransientProviderError(f"{doing}: cannot reach PagerDuty ({exc})", provider=PROVIDER)
