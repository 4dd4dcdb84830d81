"""PagerDuty REST API v2 errors (the mapping itself lives in portal/providers/http_errors.py).

PagerDuty error bodies look like
``{"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["Name has already been taken"]}}``
and rate limits answer 429 (with ``Retry-After`` / ``ratelimit-reset`` headers).
"""

from __future__ import annotations

from typing import Any

import requests

from portal.providers import http_errors
from portal.providers.base import ProviderError

PROVIDER = "pagerduty"


def _detail(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        parts = [str(error.get("message") or "")]
        parts += [str(e) for e in error.get("errors") or [] if e]
        return "; ".join(p for p in parts if p)
    return str(error or "")


API = http_errors.HttpApi(
    provider=PROVIDER,
    label="PagerDuty",
    unauthorized_hint=(
        "Set PAVED_PAGERDUTY_TOKEN (or PAVED_PAGERDUTY_TOKEN_FILE) to a valid REST API key"
    ),
    forbidden_hint="Use a full-access (not read-only) REST API key in PAVED_PAGERDUTY_TOKEN",
    detail_from_body=_detail,
    retry_headers=("Retry-After", "ratelimit-reset"),
)


def error_for_response(response: requests.Response, doing: str) -> ProviderError:
    return http_errors.error_for_response(API, response, doing)


def error_for_exception(
    exc: requests.RequestException, doing: str, timeout: float
) -> ProviderError:
    return http_errors.error_for_exception(API, exc, doing, timeout)
