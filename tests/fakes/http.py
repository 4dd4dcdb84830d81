"""A tiny threaded HTTP server on 127.0.0.1 that routes requests to a fake's methods."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Response:
    status: int = 200
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Route = tuple[str, re.Pattern[str], Callable[..., Response]]

# Every fake started during the current test (the API contract check reads their exchanges).
RUNNING: list[Any] = []


@dataclass
class Failure:
    """A canned answer for the next `times` requests matching `method` and `pattern`."""

    method: str
    pattern: re.Pattern[str]
    response: Response
    times: int = 1


class FakeServer:
    """Serve `routes` (method, regex, handler(request, *groups)) until stopped. Every request and
    the response it got are kept in `exchanges` (the API contract test validates them)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.requests: list[Request] = []
        self.exchanges: list[tuple[Request, Response]] = []
        self.failures: list[Response] = []  # answered (once each) before routing
        self.failing: list[Failure] = []  # answered to matching requests only
        self.lock = threading.RLock()
        self.url = ""
        self._server: ThreadingHTTPServer | None = None

    def route(self, method: str, pattern: str, handler: Callable[..., Response]) -> None:
        self.routes.append((method.upper(), re.compile(f"^{pattern}$"), handler))

    def fail_next(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.failures.append(Response(status, payload, headers or {}))

    def fail_on(
        self,
        method: str,
        pattern: str,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
        *,
        times: int = 1,
    ) -> None:
        """Answer the next `times` requests to `method` `pattern` (a regex of the path) with
        this failure; other requests are served as usual."""
        compiled = re.compile(f"^{pattern}$")
        self.failing.append(
            Failure(method.upper(), compiled, Response(status, payload, headers or {}), times)
        )

    def dispatch(self, request: Request) -> Response:
        with self.lock:
            self.requests.append(request)
            response = self._answer(request)
            self.exchanges.append((request, response))
            return response

    def _answer(self, request: Request) -> Response:
        if self.failures:
            return self.failures.pop(0)
        for failure in self.failing:
            if failure.method == request.method and failure.pattern.match(request.path):
                failure.times -= 1
                if failure.times <= 0:
                    self.failing.remove(failure)
                return failure.response
        for method, pattern, handler in self.routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                return handler(request, *match.groups())
        return self.not_found(request)

    def not_found(self, request: Request) -> Response:
        return Response(404, {"message": "Not Found"})

    def start(self) -> FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                response = fake.dispatch(request)
                body = b"" if response.payload is None else json.dumps(response.payload).encode()
                self.send_response(response.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        RUNNING.append(self)
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
