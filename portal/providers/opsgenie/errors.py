"""Opsgenie REST API v2 errors (the mapping itself lives in portal/providers/http_errors.py).

Opsgenie error bodies look like ``{"message": "Could not authenticate", "took": 0.0,
"requestId": "..."}``; validation errors add ``"errors": {"field": "problem"}``.
"""

from __future__ import annotations

from typing import Any

import requests

from portal.providers import http_errors
from portal.providers.base import PermanentProviderError, ProviderError

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


class Conflict(PermanentProviderError):
    """HTTP 409: the name is taken. Callers decide by the status, not the wording: Opsgenie's
    text varies ("There is already one Team with same name", reported in
    github.com/opsgenie/terraform-provider-opsgenie/issues/353, also for a schedule named like a
    team), so matching "already exists" misses real answers."""


def error_for_response(response: requests.Response, doing: str) -> ProviderError:
    error = http_errors.error_for_response(API, response, doing)
    if response.status_code == 409:
        return Conflict(error.message, provider=PROVIDER)
    return error


def error_for_exception(
    exc: requests.RequestException, doing: str, timeout: float
) -> ProviderError:
    return http_errors.error_for_exception(API, exc, doing, timeout)
