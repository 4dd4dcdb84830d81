"""kmock (a Kubernetes API emulator, aiohttp) on 127.0.0.1 in a thread, plus the small adapter
from docs/reference integrations.md §3.3 that fixes what kmock 0.8 gets wrong:
`/api/v1/namespaces[/{name}]` paths, 200 instead of 201 on create, server-side apply of a missing
object (404 instead of create), and PUT. Only kmock's public names are used (pin kmock==0.8):
the namespace paths are parsed here, before kmock's own parser (which reads `namespaces/<name>`
as a namespace prefix), and their requests are kept beside kmock's so its views still count them.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp.web
import attrs
import kmock

_CORE_NAMESPACES = re.compile(
    r"^/api/(?P<version>[^/]+)/namespaces(?:/(?P<name>[^/]+)(?:/(?P<sub>status|finalize))?)?/?$"
)


def _action(method: kmock.method, name: str | None, params: dict[str, str]) -> kmock.action | None:
    if method == kmock.method.GET and params.get("watch") == "true":
        return kmock.action.WATCH
    if name is None:
        return {kmock.method.GET: kmock.action.LIST, kmock.method.POST: kmock.action.CREATE}.get(
            method
        )
    return {
        kmock.method.GET: kmock.action.FETCH,
        kmock.method.PATCH: kmock.action.UPDATE,
        kmock.method.DELETE: kmock.action.DELETE,
    }.get(method)


async def _namespace_request(raw: aiohttp.web.BaseRequest, *, id: int) -> kmock.Request | None:
    """The request kmock would build for a core `namespaces` path, or None for any other path."""
    match = _CORE_NAMESPACES.match(raw.path)
    if match is None:
        return None
    body = await raw.read()
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    params = dict(raw.query)
    return kmock.Request(
        id=id,
        raw_request=raw,
        url=raw.url,
        method=raw.method,
        params=params,
        headers=dict(raw.headers),
        cookies=dict(raw.cookies),
        data=data,
        body=body,
        text=body.decode("utf-8", "replace"),
        action=_action(kmock.method(raw.method), match["name"], params),
        resource=kmock.resource("", match["version"], "namespaces"),
        namespace=None,
        name=match["name"],
        subresource=match["sub"],
    )


def _status(exc: Exception) -> aiohttp.web.Response:
    """A Kubernetes `Status` body, as the client expects for errors."""
    code = exc.status if isinstance(exc, kmock.KubernetesError) else 500
    reason = getattr(exc, "reason", None) or type(exc).__name__
    body = {"apiVersion": "v1", "kind": "Status", "metadata": {}, "code": code}
    body |= {"status": "Failure", "reason": reason, "message": getattr(exc, "message", None)}
    return aiohttp.web.json_response(body, status=code)


@attrs.define(kw_only=True)
class PortalKubeEmulator(kmock.KubernetesEmulator):
    """kmock + core namespace paths, server-side-apply upsert, PUT replace, 201 on create."""

    namespace_requests: list[kmock.Request] = attrs.field(factory=list, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self[kmock.action.CREATE] << 201 << (lambda request: request.data)

    def __iter__(self) -> Iterator[kmock.Request]:
        yield from sorted([*super().__iter__(), *self.namespace_requests], key=lambda r: r.id)

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        request = await _namespace_request(raw_request, id=len(self))
        if request is None:
            return await super().__call__(raw_request)
        self.namespace_requests.append(request)
        try:
            return await self._handle(request)
        except Exception as exc:
            return _status(exc)

    async def _handle(self, request: Any) -> Any:
        if request.resource is not None and request.name is not None and not request.subresource:
            key = (request.resource, request.namespace, request.name)
            exists = key in self.objects and not self.objects[key].deleted
            ctype = request.headers.get("Content-Type", "")
            # No await between the check and the write: the loop cannot interleave another request.
            if (
                request.method == kmock.method.PATCH
                and ctype.startswith("application/apply-patch")
                and not exists
            ):
                if key in self.objects:
                    self.objects[key].create(request.data)
                else:
                    self.objects[key] = request.data
                return aiohttp.web.json_response(request.data, status=201)
            if request.method == kmock.method.PUT:
                if not exists:
                    raise kmock.KubernetesObjectNotFoundError()
                self.objects[key].create(request.data)
                return aiohttp.web.json_response(request.data)
        return await super()._handle(request)


class KmockThread:
    """Run kmock on its own event loop in a daemon thread (the kubernetes client is sync)."""

    def __init__(self, handler_cls: type = PortalKubeEmulator) -> None:
        self.handler_cls = handler_cls
        self.handler: Any = None
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    async def _main(self, ready: threading.Event) -> None:
        self._stop = asyncio.Event()
        async with (
            self.handler_cls() as handler,
            kmock.Server(handler, host="127.0.0.1") as server,
        ):
            self.handler, self.url = handler, str(server.url).rstrip("/")
            ready.set()
            await self._stop.wait()

    def start(self) -> KmockThread:
        ready, self._loop = threading.Event(), asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._main(ready))
            self._loop.close()

        self._thread = threading.Thread(target=run, name="kmock", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("kmock did not start")
        return self

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run fn() on the server loop (safe access to handler.objects and friends)."""

        async def wrap() -> Any:
            return fn()

        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(wrap(), self._loop).result(5)

    def stop(self) -> None:
        if self._loop is None or self._stop is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def write_kubeconfig(path: Any, server: str, *, context: str = "kmock") -> Any:
    """A kubeconfig for the emulator: plain http, a (dummy) bearer token."""
    import yaml

    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": context, "cluster": {"server": server}}],
                "users": [{"name": context, "user": {"token": "kmock-token"}}],
                "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
                "current-context": context,
            }
        )
    )
    return path
