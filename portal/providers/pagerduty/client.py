"""The PagerDuty REST API v2 client (the only place that talks HTTP to it)."""

from __future__ import annotations

from typing import Any

from portal.providers.http_client import JsonApiClient
from portal.providers.pagerduty import errors

MAX_PAGES = 20  # 20 x 100 results: more services with the same search text means a typo

# PagerDuty's documented "Account does not have the abilities to perform the action" (e.g. /teams
# on plans without the teams ability; developer.pagerduty.com/api-reference, "402 Payment
# Required"), which a caller with a fallback should take rather than fail on.
NO_ABILITY = 402


class PagerDutyClient(JsonApiClient):
    """PagerDuty authenticates with `Token token=<key>` and pages with `limit`/`offset`/`more`."""

    api = errors.API
    missing_credential = "PAVED_PAGERDUTY_TOKEN is not set; give Paved a PagerDuty REST API key"
    headers = {
        "Accept": "application/vnd.pagerduty+json;version=2",
        "Content-Type": "application/json",
    }

    def authorization(self) -> str:
        return f"Token token={self.credential}"

    def list_all(
        self,
        path: str,
        key: str,
        *,
        doing: str,
        params: dict[str, Any],
        none_on: int | None = None,
    ) -> list[dict[str, Any]] | None:
        """Follow classic offset pagination. None when a page answers `none_on`."""
        found: list[dict[str, Any]] = []
        offset = 0
        for _ in range(MAX_PAGES):
            page = self.request(
                "GET", path, doing=doing, params={**params, "limit": 100, "offset": offset},
                none_on=none_on,
            )  # fmt: skip
            if page is None:
                return None
            items = page.get(key) or []
            found.extend(items)
            if not page.get("more") or not items:
                break
            offset += len(items)
        return found
