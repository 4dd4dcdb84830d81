"""A stateful Argo CD API server stand-in (the few REST endpoints Paved uses), on 127.0.0.1.

Mirrors argo-cd v3 `assets/swagger.json` and the gRPC-gateway error shape
{"error", "code", "message"}; statuses as a real server answers them. A tiny "controller"
(`set_status`) plays the part of Argo CD reconciling an application.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.fakes.http import FakeServer, Request, Response

SEG = r"([^/]+)"


def grpc_error(status: int, code: int, message: str) -> Response:
    return Response(status, {"error": message, "code": code, "message": message})


class FakeArgoCD(FakeServer):
    def __init__(self, *, token: str = "argocd-test-token") -> None:  # noqa: S107
        super().__init__()
        self.token = token
        self.apps: dict[str, dict[str, Any]] = {}
        self.route("GET", "/api/v1/session/userinfo", self.userinfo)
        self.route("GET", f"/api/v1/applications/{SEG}", self.get_app)
        self.route("POST", "/api/v1/applications", self.create_app)

    def _authed(self, req: Request) -> bool:
        return req.headers.get("authorization") == f"Bearer {self.token}"

    def _answer(self, request: Request) -> Response:
        if request.path != "/api/v1/session/userinfo" and not self._authed(request):
            # Real: 401 {"error": "no session information", "code": 16, ...}
            return grpc_error(401, 16, "no session information")
        return super()._answer(request)

    def userinfo(self, req: Request) -> Response:
        # GET /api/v1/session/userinfo -> 200 {"loggedIn": bool, "username", "iss"}
        if not self._authed(req):
            return Response(200, {"loggedIn": False})
        return Response(200, {"loggedIn": True, "username": "paved", "iss": "argocd"})

    def get_app(self, req: Request, name: str) -> Response:
        # GET /api/v1/applications/{name}?project=&appNamespace= -> 200 Application;
        # missing -> 404 code 5 (with ?project=; without it a non-admin token sees 403)
        app = self.apps.get(name)
        if app is None:
            return grpc_error(404, 5, f'applications.argoproj.io "{name}" not found')
        return Response(200, app)

    def create_app(self, req: Request) -> Response:
        # POST /api/v1/applications?upsert=true -> 200 Application. Without upsert, an existing
        # app with a different spec -> 400 code 3 "existing application spec is different...".
        body = req.json
        name = body["metadata"]["name"]
        existing = self.apps.get(name)
        if existing and req.query.get("upsert") != "true" and existing["spec"] != body["spec"]:
            return grpc_error(
                400, 3, "existing application spec is different, use upsert flag to force update"
            )
        app = copy.deepcopy(body)
        app["metadata"].setdefault("uid", f"uid-{name}")
        # A freshly (re)configured app: the controller has not synced it yet.
        app["status"] = (existing or {}).get("status") or {
            "sync": {"status": "OutOfSync", "revision": ""},
            "health": {"status": "Progressing"},
        }
        self.apps[name] = app
        return Response(200, app)

    def set_status(
        self, name: str, *, sync: str, health: str, revision: str = "", message: str = ""
    ) -> None:
        with self.lock:
            status = self.apps[name]["status"]
            status["sync"] = {"status": sync, "revision": revision}
            status["health"] = {"status": health}
            if message:
                status["operationState"] = {"phase": "Failed", "message": message}
