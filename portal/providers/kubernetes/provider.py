"""`kubernetes` cluster: server-side apply with Paved's field manager, one cluster per environment.

Applying the same manifest twice changes nothing (SSA is idempotent); `changed` is computed by
comparing the object before and after, ignoring server-maintained metadata.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings

from portal.providers.base import NamespaceSpec, ProviderError, ResourceStatus
from portal.providers.kubernetes.client import (
    ClusterConfig,
    TimeoutDynamicClient,
    api_client_for,
    dynamic_client,
    lookup,
    parse_clusters,
    ping,
)
from portal.providers.kubernetes.errors import map_error, status_of
from portal.providers.manifests import check_dns_label, namespace_manifests, validate_manifest

_VOLATILE_METADATA = (
    "resourceVersion",
    "managedFields",
    "generation",
    "creationTimestamp",
    "uid",
    "selfLink",
)
READY_CONDITIONS = ("Ready", "Available", "Synced")


@contextmanager
def mapped(doing: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        mapped_exc = map_error(exc, doing)
        if mapped_exc is exc:
            raise
        raise mapped_exc from exc


def describe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, ProviderError) else f"kubernetes: {exc}"


def comparable(obj: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The parts of an object Paved controls (no status, no server bookkeeping)."""
    if obj is None:
        return None
    data = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (data.get("metadata") or {}).items() if k not in _VOLATILE_METADATA}
    data["metadata"] = meta
    return data


def readiness(obj: Mapping[str, Any]) -> tuple[bool, str, list[dict[str, Any]]]:
    """(ready, message, conditions) from an object's status, whatever its kind."""
    status = obj.get("status") or {}
    conditions = [dict(c) for c in status.get("conditions") or [] if isinstance(c, Mapping)]
    if obj.get("apiVersion", "").startswith("argoproj.io/") and obj.get("kind") == "Application":
        health = (status.get("health") or {}).get("status", "Unknown")
        sync = (status.get("sync") or {}).get("status", "Unknown")
        return health == "Healthy" and sync == "Synced", f"{sync}/{health}", conditions
    for wanted in READY_CONDITIONS:
        for cond in conditions:
            if cond.get("type") == wanted:
                ok = str(cond.get("status")) == "True"
                if wanted == "Ready" or not ok:
                    return ok, str(cond.get("message") or cond.get("reason") or ""), conditions
    if conditions:
        return all(str(c.get("status")) == "True" for c in conditions), "", conditions
    phase = status.get("phase")
    if phase:
        return phase in ("Active", "Bound", "Running", "Succeeded"), str(phase), conditions
    # Objects without status (quota, role bindings, config) are done once they exist.
    return True, "", conditions


class KubernetesCluster:
    name = "kubernetes"

    def __init__(self, clusters: dict[str, ClusterConfig] | None = None) -> None:
        self._clusters = clusters
        self._dynamic: dict[str, TimeoutDynamicClient] = {}

    @property
    def clusters(self) -> dict[str, ClusterConfig]:
        if self._clusters is None:
            self._clusters = parse_clusters(settings.PAVED_CLUSTERS)
        return self._clusters

    def _dyn(self, environment: str) -> TimeoutDynamicClient:
        check_dns_label("environment", environment)
        cluster = lookup(self.clusters, environment)
        if environment not in self._dynamic:
            with mapped(f"connecting to the {environment} cluster"):
                self._dynamic[environment] = dynamic_client(api_client_for(cluster), environment)
        return self._dynamic[environment]

    def _resource(self, environment: str, api_version: str, kind: str) -> Any:
        return self._dyn(environment).resources.get(api_version=api_version, kind=kind)

    def _get(self, resource: Any, name: str, namespace: str) -> dict[str, Any] | None:
        try:
            obj = resource.get(name=name, namespace=namespace if resource.namespaced else None)
        except Exception as exc:
            if status_of(exc) == 404:
                return None
            raise
        return dict(obj.to_dict())

    def _apply(self, manifest: Mapping[str, Any], environment: str) -> bool:
        api_version, kind, namespace, name = validate_manifest(manifest)
        with mapped(
            f"applying {kind} {namespace + '/' if namespace else ''}{name} in {environment}"
        ):
            resource = self._resource(environment, api_version, kind)
            ns = namespace if resource.namespaced else None
            before = self._get(resource, name, namespace)
            after = resource.server_side_apply(
                body=dict(manifest),
                name=name,
                namespace=ns,
                field_manager=settings.PAVED_KUBE_FIELD_MANAGER,
                force_conflicts=True,
            )
            return comparable(before) != comparable(after.to_dict())

    # --- Cluster -------------------------------------------------------------------------
    def ensure_namespace(self, spec: NamespaceSpec) -> bool:
        manifests = namespace_manifests(spec)  # validates before anything is sent
        changed = [self._apply(m, spec.environment) for m in manifests]
        return any(changed)

    def delete_namespace(self, name: str, *, environment: str = "dev") -> bool:
        check_dns_label("namespace", name)
        return self.delete_manifest("v1", "Namespace", "", name, environment=environment)

    def apply_manifests(
        self, manifests: Sequence[Mapping[str, Any]], *, environment: str, message: str = ""
    ) -> bool:
        for manifest in manifests:  # all valid, or nothing is sent
            validate_manifest(manifest)
        changed = [self._apply(m, environment) for m in manifests]
        return any(changed)

    def delete_manifest(
        self, api_version: str, kind: str, namespace: str, name: str, *, environment: str
    ) -> bool:
        with mapped(f"deleting {kind} {name} in {environment}"):
            resource = self._resource(environment, api_version, kind)
            try:
                resource.delete(name=name, namespace=namespace if resource.namespaced else None)
            except Exception as exc:
                if status_of(exc) == 404:
                    return False
                raise
            return True

    def read_status(
        self, api_version: str, kind: str, namespace: str, name: str, *, environment: str
    ) -> ResourceStatus:
        with mapped(f"reading {kind} {name} in {environment}"):
            resource = self._resource(environment, api_version, kind)
            obj = self._get(resource, name, namespace)
        if obj is None:
            return ResourceStatus(exists=False, message=f"{kind} {name} not found in {environment}")
        ready, message, conditions = readiness(obj)
        return ResourceStatus(exists=True, conditions=conditions, ready=ready, message=message)

    def check_configuration(self) -> list[str]:
        problems: list[str] = []
        try:
            clusters = self.clusters
        except Exception as exc:
            return [describe(exc)]
        for env, cluster in sorted(clusters.items()):
            label = "every environment" if env == "*" else f"environment {env}"
            try:
                with mapped(f"{label} ({cluster.describe()})"):
                    ping(api_client_for(cluster), env if env != "*" else "default")
            except Exception as exc:
                problems.append(describe(exc))
        return problems
