"""`argocd` deployer: the Application upserted through Argo CD's REST API, status read back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from django.conf import settings

from portal.providers.argocd.client import ArgoCDClient
from portal.providers.argocd.errors import PROVIDER
from portal.providers.base import (
    ApplicationSpec,
    AppStatus,
    ProviderError,
    ProviderNotConfigured,
)
from portal.providers.manifests import application_manifest, check_dns_label


def _differs(current: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Does Argo CD hold something other than what we want (spec, or our labels)?"""
    if current.get("spec") != desired["spec"]:
        return True
    labels = (current.get("metadata") or {}).get("labels") or {}
    return any(labels.get(k) != v for k, v in desired["metadata"]["labels"].items())


class ArgoCDDeployer:
    name = "argocd"

    def __init__(self, api: ArgoCDClient | None = None) -> None:
        self._api = api

    @property
    def api(self) -> ArgoCDClient:
        if self._api is None:
            self._api = ArgoCDClient.from_settings()
        return self._api

    def _get(self, name: str, *, project: str | None = None) -> dict[str, Any] | None:
        """The application, or None when it does not exist. Without a project Argo CD answers
        a missing application with 403 "permission denied", exactly as it answers one the
        token may not read, so the two cannot be told apart (argo-cd server/application/
        application.go, getAppEnforceRBAC); with a project a missing one is a 404."""
        params = {"appNamespace": settings.PAVED_ARGOCD_NAMESPACE}
        if project:
            params["project"] = project
        status, data = self.api.call(
            "GET",
            f"/api/v1/applications/{quote(name, safe='')}",
            doing=f"reading Argo CD application {name}",
            params=params,
            allow=(404,) if project else (404, 403),
        )
        return None if status in (404, 403) else data

    def ensure_application(self, app: ApplicationSpec) -> bool:
        manifest = application_manifest(app, argocd_namespace=settings.PAVED_ARGOCD_NAMESPACE)
        # The API's Application (argo-cd assets/swagger.json, v1alpha1Application) is metadata,
        # spec and status; apiVersion and kind belong to the Kubernetes manifest only.
        desired = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
        current = self._get(app.name, project=app.project)
        if current is not None and not _differs(current, desired):
            return False
        self.api.call(
            "POST",
            "/api/v1/applications",
            doing=f"creating Argo CD application {app.name}",
            params={"upsert": "true", "validate": "true"},
            body=desired,
        )
        return True

    def delete_application(self, name: str, *, environment: str = "dev") -> bool:
        check_dns_label("application name", name)
        if self._get(name) is None:
            return False
        # cascade: Argo CD removes what the application deployed as well.
        self.api.call(
            "DELETE",
            f"/api/v1/applications/{name}",
            doing=f"deleting Argo CD application {name}",
            params={"cascade": "true"},
        )
        return True

    def application_status(self, name: str, *, environment: str = "dev") -> AppStatus:
        check_dns_label("application name", name)
        data = self._get(name)
        if data is None:
            return AppStatus(
                sync="Unknown",
                health="Missing",
                message="no such application (or the Argo CD token may not read it: Argo CD "
                "answers both with 'permission denied')",
            )
        status = data.get("status") or {}
        sync = status.get("sync") or {}
        health = status.get("health") or {}
        operation = status.get("operationState") or {}
        conditions = status.get("conditions") or []
        message = operation.get("message") or health.get("message") or ""
        if not message and conditions:
            message = str(conditions[0].get("message", ""))
        return AppStatus(
            sync=sync.get("status") or "Unknown",
            health=health.get("status") or "Unknown",
            revision=sync.get("revision") or "",
            message=message,
        )

    def check_configuration(self) -> list[str]:
        try:
            _, info = self.api.call(
                "GET", "/api/v1/session/userinfo", doing="checking the Argo CD token"
            )
        except ProviderError as exc:
            return [str(exc)]
        if not (info or {}).get("loggedIn"):
            return [
                str(
                    ProviderNotConfigured(
                        "Argo CD does not accept PAVED_ARGOCD_TOKEN (not logged in)",
                        provider=PROVIDER,
                    )
                )
            ]
        return []
