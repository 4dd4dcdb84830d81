"""kmock (a Kubernetes API emulator, aiohttp) on 127.0.0.1 in a thread, plus the small adapter
from docs/reference integrations.md §3.3 that fixes what kmock 0.8 gets wrong:
`/api/v1/namespaces[/{name}]` paths, 200 instead of 201 on create, server-side apply of a missing
object (404 instead of create), and PUT. It touches kmock internals: pin kmock==0.8."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import aiohttp.web
import attrs
import kmock
from kmock._internal import parsing

_orig_parse_path = parsing.parse_path


def _parse_path(path: str) -> Any:
    parts = path.strip("/").split("/")
    if len(parts) >= 3 and parts[0] == "api" and parts[2] == "namespaces":  # noqa: SIM102  (kept as in the reference shim)
        if len(parts) in (3, 4) or (len(parts) == 5 and parts[4] in ("status", "finalize")):
            return parsing.ParsedPath(
                group="",
                version=parts[1],
                plural="namespaces",
                namespace=None,
                name=parts[3] if len(parts) >= 4 else None,
                subresource=parts[4] if len(parts) == 5 else None,
            )
    return _orig_parse_path(path)


parsing.parse_path = _parse_path  # rendering.Request._parse looks it up at call time


@attrs.define(kw_only=True)
class PortalKubeEmulator(kmock.KubernetesEmulator):
    """kmock + server-side-apply upsert, PUT replace, 201 on create."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self[kmock.action.CREATE] << 201 << (lambda request: request.data)

    async def _handle(self, request: Any) -> Any:
        if request.resource is not None and request.name is not None and not request.subresource:
            key = (request.resource, request.namespace, request.name)
            exists = key in self.objects and not self.objects[key].deleted
            ctype = request.headers.get("Content-Type", "")
            if (
                request.method == kmock.method.PATCH
                and ctype.startswith("application/apply-patch")
                and not exists
            ):
                async with self._lock:
                    if key in self.objects:
                        self.objects[key].create(request.data)
                    else:
                        self.objects[key] = request.data
                    await self._buses[request.resource].put(
                        {"type": "ADDED", "object": request.data}
                    )
                return aiohttp.web.json_response(request.data, status=201)
            if request.method == kmock.method.PUT:
                if not exists:
                    raise kmock.KubernetesObjectNotFoundError()
                async with self._lock:
                    self.objects[key].create(request.data)
                    await self._buses[request.resource].put(
                        {"type": "MODIFIED", "object": request.data}
                    )
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
