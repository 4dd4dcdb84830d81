"""Map kubernetes client / urllib3 failures onto the provider error taxonomy."""

from __future__ import annotations

import json

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError

from portal.providers.base import (
    PermanentProviderError,
    ProviderError,
    ProviderNotConfigured,
    TransientProviderError,
)
from portal.providers.retry_after import parse_retry_after

PROVIDER = "kubernetes"


def status_of(exc: Exception) -> int | None:
    return getattr(exc, "status", None)


def _reason(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if body:
        try:
            data = json.loads(body)
            if isinstance(data, dict) and data.get("message"):
                return str(data["message"])
        except (TypeError, ValueError):
            pass
    return str(getattr(exc, "reason", "") or exc).strip().splitlines()[0]


def map_error(exc: Exception, doing: str) -> Exception:
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, ResourceNotFoundError):
        return PermanentProviderError(
            f"{doing}: the cluster does not serve this kind ({exc}); is its CRD installed?",
            provider=PROVIDER,
        )
    if isinstance(exc, ConfigException):
        return ProviderNotConfigured(f"{doing}: {exc}", provider=PROVIDER)
    if isinstance(exc, ApiException | DynamicApiError):
        status = status_of(exc) or 0
        message = f"{doing}: {_reason(exc)} (HTTP {status})"
        if status == 429 or status >= 500:
            headers = getattr(exc, "headers", None) or {}
            retry = headers.get("Retry-After") if hasattr(headers, "get") else None
            return TransientProviderError(
                message, provider=PROVIDER, retry_after=parse_retry_after(retry)
            )
        if status in (401, 403):
            return ProviderNotConfigured(
                f"{message}; check the kubeconfig/credentials for this cluster", provider=PROVIDER
            )
        return PermanentProviderError(message, provider=PROVIDER)
    if isinstance(exc, urllib3.exceptions.HTTPError | TimeoutError | ConnectionError):
        return TransientProviderError(
            f"{doing}: cannot reach the cluster ({exc})", provider=PROVIDER
        )
    return exc
