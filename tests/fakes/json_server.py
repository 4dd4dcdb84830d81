"""A ThreadingHTTPServer on 127.0.0.1 answering JSON, with scripted failures and delays, for the
fakes of remote HTTP APIs (tests talk to it over real sockets; nothing is monkeypatched)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from tests.fakes.http import RUNNING


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any

    def arg(self, name: str, default: str = "") -> str:
        return (self.query.get(name) or [default])[0]


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class JsonServer:
    """Subclasses implement `handle(call) -> Reply`. `fail_next` queues canned answers given
    before routing; `delay` makes every answer slow (to test client timeouts)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.exchanges: list[tuple[Call, Reply]] = []  # validated by the API contract check
        self.scripted: list[Reply] = []
        self.delay = 0.0
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def handle(self, call: Call) -> Reply:
        raise NotImplementedError

    def fail_next(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.scripted.append(Reply(status, body, headers or {}))

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == path]

    def _dispatch(self, call: Call) -> Reply:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.calls.append(call)
            reply = self.scripted.pop(0) if self.scripted else self.handle(call)
            self.exchanges.append((call, reply))
            return reply

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                call = Call(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw) if raw else None,
                )
                reply = fake._dispatch(call)
                payload = b"" if reply.body is None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        RUNNING.append(self)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
