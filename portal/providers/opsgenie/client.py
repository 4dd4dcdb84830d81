"""The Opsgenie REST API v2 client (the only place that talks HTTP to it)."""

from __future__ import annotations

import requests

from portal.providers.base import ProviderError
from portal.providers.http_client import JsonApiClient
from portal.providers.opsgenie import errors


class OpsgenieClient(JsonApiClient):
    """Opsgenie authenticates with `GenieKey <key>`; a 409 becomes `errors.Conflict`."""

    api = errors.API
    missing_credential = "PAVED_OPSGENIE_API_KEY is not set; give Paved an Opsgenie API key"

    def authorization(self) -> str:
        return f"GenieKey {self.credential}"

    def error_for_response(self, response: requests.Response, doing: str) -> ProviderError:
        return errors.error_for_response(response, doing)
