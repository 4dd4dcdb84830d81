"""Map Argo CD REST answers and requests failures onto the provider error taxonomy."""

from __future__ import annotations

import requests

from portal.providers.base import (
    PermanentProviderError,
    ProviderNotConfigured,
    TransientProviderError,
)
from portal.providers.retry_after import parse_retry_after

PROVIDER = "argocd"


def error_for(response: requests.Response, doing: str) -> Exception:
    """Argo CD's gRPC-gateway errors look like {"error": "...", "code": 5, "message": "..."}."""
    try:
        body = response.json()
        detail = body.get("message") or body.get("error") or ""
    except ValueError:
        detail = response.text[:200]
    message = f"{doing}: {detail or response.reason} (HTTP {response.status_code})"
    if response.status_code == 401:
        return ProviderNotConfigured(
            f"{doing}: Argo CD rejected the token (HTTP 401); check PAVED_ARGOCD_TOKEN",
            provider=PROVIDER,
        )
    if response.status_code == 403:
        # Argo CD's RBAC: creating needs `applications, create` and changing an existing
        # application (upsert) also `applications, update`, in the application's project
        # (argo-cd server/application/application.go, Create).
        return ProviderNotConfigured(
            f"{message}. The Argo CD account of PAVED_ARGOCD_TOKEN needs the RBAC permissions "
            "applications get, create and update in the application's project (argocd-rbac-cm)",
            provider=PROVIDER,
        )
    if response.status_code == 400 and "is invalid" in detail:
        # validate=true refused the spec: the repository is not registered or reachable, or the
        # project does not allow the destination (argo-cd util/argo/argo.go, ValidateRepo and
        # ValidateDestination).
        return PermanentProviderError(
            f"{message}. Register the repository in Argo CD (Settings > Repositories) and allow "
            "the destination cluster and namespace in the Argo CD project",
            provider=PROVIDER,
        )
    if response.status_code == 429 or response.status_code >= 500:
        return TransientProviderError(
            message,
            provider=PROVIDER,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    return PermanentProviderError(message, provider=PROVIDER)


def network_error(exc: requests.RequestException, doing: str) -> TransientProviderError:
    if isinstance(exc, requests.Timeout):
        return TransientProviderError(f"{doing}: Argo CD did not answer in time", provider=PROVIDER)
    return TransientProviderError(f"{doing}: cannot reach Argo CD ({exc})", provider=PROVIDER)
