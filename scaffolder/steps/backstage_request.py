"""http:backstage:request (Roadie's action): a request to Paved's own Backstage-compatible API.

The request is served in process, as the person who started the run: the API sees their user,
exactly as if they had called it with their session. `Authorization` and `Cookie` headers from the
template are dropped, so a template cannot act with a token its author embedded; the API's writes
need a write token, so this action reads (the catalog, the metrics pages' API) and never writes.
Paved has no proxy to other services: `/proxy/...` paths are refused with a plain message.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

from django.test import RequestFactory
from django.urls import Resolver404, resolve

from portal.providers.base import PermanentProviderError
from runs.context import StepContext
from runs.registry import NOTHING, StepKind, register_step

METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
_DROPPED_HEADERS = {"authorization", "cookie", "host"}


def api_path(path: str) -> str:
    """Backstage templates write `/catalog/entities` or `/api/catalog/entities`."""
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or not path.startswith("/"):
        raise PermanentProviderError(
            f"http:backstage:request: path {path!r} must be a path on this portal, like "
            "/api/catalog/entities"
        )
    clean = parts.path if parts.path.startswith("/api/") else "/api" + parts.path
    if clean.startswith("/api/proxy/"):
        raise PermanentProviderError(
            f"http:backstage:request: {path!r} goes through Backstage's proxy, which Paved does "
            "not have; call the service with a step of its own instead"
        )
    return clean + (f"?{parts.query}" if parts.query else "")


@register_step
class BackstageRequest(StepKind):
    name = "http:backstage:request"
    writes = NOTHING
    title = "Call Paved's Backstage-compatible API"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["method", "path"],
        "properties": {
            "method": {"enum": list(METHODS)},
            "path": {"type": "string", "minLength": 1},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "params": {"type": "object"},
            "body": {},
            "logRequestPath": {"type": "boolean"},
            "continueOnBadResponse": {"type": "boolean"},
        },
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        user = ctx.run.requested_by
        if user is None:
            raise PermanentProviderError(
                "http:backstage:request acts as the person who started the run, and this run has none"
            )
        inputs = ctx.inputs
        path = api_path(inputs["path"])
        if inputs.get("params"):
            path += ("&" if "?" in path else "?") + urlencode(inputs["params"], doseq=True)
        try:
            match = resolve(urlsplit(path).path)
        except Resolver404:
            raise PermanentProviderError(
                f"http:backstage:request: Paved's API has no {urlsplit(path).path}"
            ) from None
        headers = {
            str(k): str(v)
            for k, v in (inputs.get("headers") or {}).items()
            if k.lower() not in _DROPPED_HEADERS and k.lower() != "content-type"
        }
        body = inputs.get("body")
        data = body if isinstance(body, str) else json.dumps(body) if body is not None else ""
        request = RequestFactory().generic(
            inputs["method"], path, data=data, content_type="application/json", headers=headers
        )
        request.user = user
        response = match.func(request, *match.args, **match.kwargs)
        content = (
            response.content.decode("utf-8", "replace") if hasattr(response, "content") else ""
        )
        try:
            parsed: Any = json.loads(content) if content else None
        except ValueError:
            parsed = content
        ctx.log.info(
            "%s %s answered %d.",
            inputs["method"],
            inputs["path"] if inputs.get("logRequestPath", True) else "(path hidden)",
            response.status_code,
        )
        if response.status_code >= 400 and not inputs.get("continueOnBadResponse"):
            raise PermanentProviderError(
                f"http:backstage:request: {inputs['method']} {inputs['path']} answered "
                f"{response.status_code}: {content[:300]}"
            )
        return {"code": response.status_code, "headers": dict(response.headers), "body": parsed}
