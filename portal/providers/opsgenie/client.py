"""A small Opsgenie REST API v2 client on `requests` (the only place that talks HTTP to it)."""

from __future__ import annotations

from typing import Any

import requests

from portal.providers.base import ProviderNotConfigured
from portal.providers.opsgenie.errors import PROVIDER, error_for_exception, error_for_response


class OpsgenieClient:
    """GET and POST JSON with the API key, a timeout on every call, and errors already mapped."""

    def __init__(self, *, api_key: str, api_url: str, timeout: float) -> None:
        self.api_key = api_key
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update(
            {"Content-Type": "application/json", "User-Agent": "Paved (on-call)"}
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        doing: str,
        params: Any = None,
        json: Any = None,
        missing_ok: bool = False,
    ) -> Any:
        """The decoded JSON body; None for a 404 when `missing_ok`."""
        if not self.api_key:
            raise ProviderNotConfigured(
                f"{doing}: PAVED_OPSGENIE_API_KEY is not set; give Paved an Opsgenie API key",
                provider=PROVIDER,
            )
        try:
            response = self.session.request(
                method,
                f"{self.api_url}{path}",
                params=params,
                json=json,
                headers={"Authorization": f"GenieKey {self.api_key}"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise error_for_exception(exc, doing, self.timeout) from None
        if response.status_code == 404 and missing_ok:
            return None
        if not response.ok:
            raise error_for_response(response, doing)
        return response.json() if response.content else {}

    def close(self) -> None:
        self.session.close()
