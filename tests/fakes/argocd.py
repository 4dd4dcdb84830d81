"""A stateful Argo CD API server stand-in (the few REST endpoints Paved uses), on 127.0.0.1.

Mirrors argo-cd v3 `assets/swagger.json` and the gRPC-gateway error shape
{"error", "code", "message"}; statuses as a real server answers them (server/application/
application.go): 403 rather than 404 for a missing application when no project is given, RBAC
for get/create/update, `validate=true` checks of repository and destination, label and
annotation merge on upsert. A tiny "controller"
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
    contract = "argocd"  # tests/contracts/specs/argocd.json

    def __init__(self, *, token: str = "argocd-test-token") -> None:  # noqa: S107
        super().__init__()
        self.token = token
        self.apps: dict[str, dict[str, Any]] = {}
        # What `validate=true` checks (util/argo/argo.go): the repository is registered and
        # reachable, the project allows the destination. None = everything is allowed.
        self.repositories: set[str] | None = None
        self.destinations: set[tuple[str, str]] | None = None  # (server, namespace)
        # The token's RBAC on applications (server/application/application.go enforces "get",
        # "create", and "update" for an upsert that changes an existing application).
        self.permissions = {"get", "create", "update"}
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

    def _denied(self, action: str, project: str, name: str) -> Response:
        # Real: 403 code 7 "permission denied: applications, create, default/x, sub: paved, ..."
        return grpc_error(
            403, 7, f"permission denied: applications, {action}, {project}/{name}, sub: paved"
        )

    def get_app(self, req: Request, name: str) -> Response:
        # GET /api/v1/applications/{name}?project=&appNamespace= -> 200 Application. Missing:
        # 404 code 5 only when ?project= is given; without it Argo CD answers 403 "permission
        # denied" so a caller cannot tell a missing application from a forbidden one
        # (getAppEnforceRBAC in server/application/application.go).
        project = req.query.get("project", "")
        app = self.apps.get(name)
        if "get" not in self.permissions:
            return grpc_error(403, 7, "permission denied")
        if app is None:
            if project:
                return grpc_error(404, 5, f'applications.argoproj.io "{name}" not found')
            return grpc_error(403, 7, "permission denied")
        return Response(200, app)

    def _invalid(self, body: dict[str, Any]) -> Response | None:
        """`validate=true`: the checks Argo CD makes before it stores an application."""
        name, spec = body["metadata"]["name"], body["spec"]
        project = spec.get("project") or "default"
        dest = spec.get("destination") or {}
        server, namespace = dest.get("server", ""), dest.get("namespace", "")
        if self.destinations is not None and (server, namespace) not in self.destinations:
            return grpc_error(
                400,
                3,
                f"application destination spec for {name} is invalid: application destination "
                f"server '{server}' and namespace '{namespace}' do not match any of the allowed "
                f"destinations in project '{project}'",
            )
        repo = (spec.get("source") or {}).get("repoURL", "")
        if self.repositories is not None and repo not in self.repositories:
            return grpc_error(
                400,
                3,
                f"application spec for {name} is invalid: InvalidSpecError: repository not "
                f"accessible: repositories not accessible: {repo}: repository not found",
            )
        return None

    def create_app(self, req: Request) -> Response:
        # POST /api/v1/applications?upsert=true -> 200 Application. Without upsert, an existing
        # app with a different spec -> 400 code 3 "existing application spec is different...".
        body = req.json
        name = body["metadata"]["name"]
        project = body["spec"].get("project") or "default"
        if "create" not in self.permissions:
            return self._denied("create", project, name)
        if req.query.get("validate", "true") != "false":
            invalid = self._invalid(body)
            if invalid is not None:
                return invalid
        existing = self.apps.get(name)
        meta = body["metadata"]
        if existing is not None:
            old_meta = existing["metadata"]
            if (
                existing["spec"] == body["spec"]
                and (old_meta.get("labels") or None) == (meta.get("labels") or None)
                and (old_meta.get("annotations") or None) == (meta.get("annotations") or None)
            ):
                return Response(200, existing)  # idempotent: nothing changes
            if req.query.get("upsert") != "true":
                return grpc_error(
                    400,
                    3,
                    "existing application spec is different, use upsert flag to force update",
                )
            if "update" not in self.permissions:
                return self._denied("update", project, name)
        app = copy.deepcopy(body)
        app["metadata"].setdefault("uid", f"uid-{name}")
        if existing is not None:  # upsert merges labels and annotations (updateApp, merge=true)
            for key in ("labels", "annotations"):
                merged = {**(existing["metadata"].get(key) or {}), **(meta.get(key) or {})}
                if merged:
                    app["metadata"][key] = merged
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
