"""The HTTP client base for JSON vendor APIs (the on-call vendors): a session with a timeout on
every call, the credential checked before anything is sent, and every failure mapped once through
http_errors. A vendor's client says only how it authenticates and which headers it wants."""

from __future__ import annotations

from typing import Any

import requests

from portal.providers import http_errors
from portal.providers.base import ProviderError, ProviderNotConfigured


class JsonApiClient:
    """GET and POST JSON with a credential; subclasses set `api`, `missing_credential` and
    `authorization()`, and may add `headers` or refine `error_for_response`."""

    api: http_errors.HttpApi
    missing_credential: str  # what to set, said after "<doing>: "
    headers: dict[str, str] = {"Content-Type": "application/json"}

    def __init__(self, *, credential: str, api_url: str, timeout: float) -> None:
        self.credential = credential
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({**self.headers, "User-Agent": "Paved (on-call)"})

    def authorization(self) -> str:
        raise NotImplementedError

    def error_for_response(self, response: requests.Response, doing: str) -> ProviderError:
        return http_errors.error_for_response(self.api, response, doing)

    def request(
        self,
        method: str,
        path: str,
        *,
        doing: str,
        params: Any = None,
        json: Any = None,
        none_on: int | None = None,
    ) -> Any:
        """The decoded JSON body; None when the answer's status is `none_on` (a status the
        caller has a fallback for)."""
        if not self.credential:
            raise ProviderNotConfigured(
                f"{doing}: {self.missing_credential}", provider=self.api.provider
            )
        try:
            response = self.session.request(
                method,
                f"{self.api_url}{path}",
                params=params,
                json=json,
                headers={"Authorization": self.authorization()},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise http_errors.error_for_exception(self.api, exc, doing, self.timeout) from None
        if none_on is not None and response.status_code == none_on:
            return None
        if not response.ok:
            raise self.error_for_response(response, doing)
        return response.json() if response.content else {}

    def close(self) -> None:
        self.session.close()
