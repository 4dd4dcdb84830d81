"""Argo CD REST API client (requests): bearer token, timeouts, JSON."""

from __future__ import annotations

from typing import Any

import requests
from django.conf import settings

from portal.providers.argocd.errors import PROVIDER, error_for, network_error
from portal.providers.base import ProviderNotConfigured


class ArgoCDClient:
    def __init__(self, url: str, token: str, *, timeout: float, verify: bool = True) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.headers["Accept"] = "application/json"
        self.session.verify = verify

    def __repr__(self) -> str:  # the token stays out of tracebacks
        return f"ArgoCDClient({self.url!r})"

    @classmethod
    def from_settings(cls) -> ArgoCDClient:
        missing = [
            n
            for n, v in [
                ("PAVED_ARGOCD_URL", settings.PAVED_ARGOCD_URL),
                ("PAVED_ARGOCD_TOKEN", settings.PAVED_ARGOCD_TOKEN),
            ]
            if not v
        ]
        if missing:
            raise ProviderNotConfigured(f"{' and '.join(missing)} not set", provider=PROVIDER)
        return cls(
            settings.PAVED_ARGOCD_URL,
            settings.PAVED_ARGOCD_TOKEN,
            timeout=settings.PAVED_PROVIDER_TIMEOUT,
            verify=settings.PAVED_ARGOCD_VERIFY_TLS,
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        doing: str,
        params: dict[str, str] | None = None,
        body: Any = None,
        allow: tuple[int, ...] = (),
    ) -> tuple[int, Any]:
        """(status, JSON) for 2xx and the `allow`ed statuses; raises a ProviderError otherwise."""
        try:
            response = self.session.request(
                method, f"{self.url}{path}", params=params, json=body, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise network_error(exc, doing) from exc
        if response.ok or response.status_code in allow:
            try:
                return response.status_code, response.json() if response.content else None
            except ValueError:
                return response.status_code, None
        raise error_for(response, doing)
