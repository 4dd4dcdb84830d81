"""Opsgenie REST API v2 errors (the mapping itself lives in portal/providers/http_errors.py).

Opsgenie error bodies look like ``{"message": "Could not authenticate", "took": 0.0,
"requestId": "..."}``; validation errors add ``"errors": {"field": "problem"}``.
"""

from __future__ import annotations

from typing import Any

import requests

from portal.providers import http_errors
from portal.providers.base import ProviderError

PROVIDER = "opsgenie"


def _detail(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    parts = [str(body.get("message") or "")]
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts += [f"{field}: {problem}" for field, problem in errors.items()]
    return "; ".join(p for p in parts if p)


API = http_errors.HttpApi(
    provider=PROVIDER,
    label="Opsgenie",
    unauthorized_hint=(
        "Set PAVED_OPSGENIE_API_KEY (or PAVED_OPSGENIE_API_KEY_FILE) to a valid API integration "
        "key, and PAVED_OPSGENIE_API_URL to https://api.eu.opsgenie.com for EU accounts"
    ),
    forbidden_hint=(
        "Give the key in PAVED_OPSGENIE_API_KEY the Read, Create and Update access rights"
    ),
    detail_from_body=_detail,
)


def error_for_response(response: requests.Response, doing: str) -> ProviderError:
    return http_errors.error_for_response(API, response, doing)


def error_for_exception(
    exc: requests.RequestException, doing: str, timeout: float
) -> ProviderError:
    return http_errors.error_for_exception(API, exc, doing, timeout)
