"""A small PagerDuty REST API v2 client on `requests` (the only place that talks HTTP to it)."""

from __future__ import annotations

from typing import Any

import requests

from portal.providers.base import ProviderNotConfigured
from portal.providers.pagerduty.errors import PROVIDER, error_for_exception, error_for_response

MAX_PAGES = 20  # 20 x 100 results: more services with the same search text means a typo


class PagerDutyClient:
    """GET and POST JSON with the token, a timeout on every call, and errors already mapped."""

    def __init__(self, *, token: str, api_url: str, timeout: float) -> None:
        self.token = token
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Accept": "application/vnd.pagerduty+json;version=2",
                "Content-Type": "application/json",
                "User-Agent": "Paved (on-call)",
            }
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        doing: str,
        params: Any = None,
        json: Any = None,
        ability_optional: bool = False,
    ) -> Any:
        """The decoded JSON body. With `ability_optional`, a 402 answers None: PagerDuty's
        documented "Account does not have the abilities to perform the action" (e.g. /teams on
        plans without the teams ability; developer.pagerduty.com/api-reference, "402 Payment
        Required"), which a caller with a fallback should take rather than fail on."""
        if not self.token:
            raise ProviderNotConfigured(
                f"{doing}: PAVED_PAGERDUTY_TOKEN is not set; give Paved a PagerDuty REST API key",
                provider=PROVIDER,
            )
        try:
            response = self.session.request(
                method,
                f"{self.api_url}{path}",
                params=params,
                json=json,
                headers={"Authorization": f"Token token={self.token}"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise error_for_exception(exc, doing, self.timeout) from None
        if response.status_code == 402 and ability_optional:
            return None
        if not response.ok:
            raise error_for_response(response, doing)
        return response.json() if response.content else {}

    def list_all(
        self,
        path: str,
        key: str,
        *,
        doing: str,
        params: dict[str, Any],
        ability_optional: bool = False,
    ) -> list[dict[str, Any]] | None:
        """Follow classic offset pagination (`limit`, `offset`, `more`). None when the account
        lacks the ability and `ability_optional` (see `request`)."""
        found: list[dict[str, Any]] = []
        offset = 0
        for _ in range(MAX_PAGES):
            page = self.request(
                "GET", path, doing=doing, params={**params, "limit": 100, "offset": offset},
                ability_optional=ability_optional,
            )  # fmt: skip
            if page is None:
                return None
            items = page.get(key) or []
            found.extend(items)
            if not page.get("more") or not items:
                break
            offset += len(items)
        return found

    def close(self) -> None:
        self.session.close()
