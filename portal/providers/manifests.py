"""Kubernetes objects Paved generates, as plain dicts, shared by the gitops and kubernetes
providers (and argocd, for the Application). Rendering to YAML is deterministic (sorted keys)
so an unchanged object produces an identical file and no commit."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from portal.annotations import ENVIRONMENT_LABEL as ENVIRONMENT_LABEL
from portal.annotations import OWNER_LABEL as OWNER_LABEL
from portal.annotations import SERVICE_LABEL as SERVICE_LABEL
from portal.providers.base import ApplicationSpec, NamespaceSpec, PermanentProviderError

MANAGED_BY = {"app.kubernetes.io/managed-by": "paved"}
NOTIFY_ON_DEPLOYED = "notifications.argoproj.io/subscribe.on-deployed.paved"

DEFAULT_QUOTA = {
    "requests.cpu": "2",
    "requests.memory": "4Gi",
    "limits.cpu": "4",
    "limits.memory": "8Gi",
    "pods": "20",
}
DEFAULT_LIMITS = {
    "default": {"cpu": "500m", "memory": "512Mi"},
    "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
}

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def check_dns_label(what: str, value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise PermanentProviderError(
            f"{what} {value!r} is not a valid Kubernetes name: lower-case letters, digits and "
            "'-', at most 63 characters, starting and ending with a letter or digit"
        )
    return value


def check_label_value(key: str, value: str) -> str:
    if not _LABEL_VALUE.match(value):
        raise PermanentProviderError(
            f"label {key}={value!r} is not a valid Kubernetes label value (at most 63 "
            "characters: letters, digits, '-', '_', '.')"
        )
    return value


def namespace_labels(spec: NamespaceSpec) -> dict[str, str]:
    labels = {
        **MANAGED_BY,
        OWNER_LABEL: spec.owner_group,
        SERVICE_LABEL: spec.service,
        ENVIRONMENT_LABEL: spec.environment,
        **spec.labels,
    }
    for key, value in labels.items():
        check_label_value(key, value)
    return labels


def namespace_manifests(spec: NamespaceSpec) -> list[dict[str, Any]]:
    """Namespace + ResourceQuota + LimitRange + RoleBinding giving the owning team `edit`."""
    check_dns_label("namespace", spec.name)
    check_dns_label("environment", spec.environment)
    labels = namespace_labels(spec)
    meta = {"namespace": spec.name, "labels": {**MANAGED_BY}}
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": spec.name, "labels": labels},
        },
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "paved-quota", **meta},
            "spec": {"hard": dict(spec.quota or DEFAULT_QUOTA)},
        },
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": {"name": "paved-defaults", **meta},
            "spec": {"limits": [{"type": "Container", **DEFAULT_LIMITS}]},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "paved-team-edit", **meta},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "edit",
            },
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": spec.owner_group}
            ],
        },
    ]


def application_manifest(app: ApplicationSpec, *, argocd_namespace: str) -> dict[str, Any]:
    """An Argo CD Application (argoproj.io/v1alpha1) syncing automatically with prune/selfHeal,
    leaving canary traffic weights to Argo Rollouts."""
    check_dns_label("application name", app.name)
    check_dns_label("destination namespace", app.destination_namespace)
    labels = {**MANAGED_BY, ENVIRONMENT_LABEL: app.environment, **app.labels}
    for key, value in labels.items():
        check_label_value(key, value)
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": app.name,
            "namespace": argocd_namespace,
            "labels": labels,
            # Argo CD notifications post each deployment to Paved's /hooks/argocd (the
            # `paved` service and `on-deployed` trigger, docs/metrics.md): DORA numbers and the
            # template-to-first-deployment time need no setup per application.
            "annotations": {NOTIFY_ON_DEPLOYED: ""},
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": app.project,
            "source": {
                "repoURL": app.repo_url,
                "path": app.path,
                "targetRevision": app.revision,
            },
            "destination": {
                "server": app.destination_server,
                "namespace": app.destination_namespace,
            },
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                # A sync must not reset what ignoreDifferences leaves to the controllers.
                "syncOptions": ["CreateNamespace=true", "RespectIgnoreDifferences=true"],
            },
            # Argo Rollouts' Gateway API plugin moves the backend weights during a canary;
            # selfHeal would otherwise put them back to what git says mid-rollout.
            "ignoreDifferences": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "HTTPRoute",
                    "jqPathExpressions": [".spec.rules[].backendRefs[].weight"],
                }
            ],
        },
    }


def validate_manifest(manifest: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """(apiVersion, kind, namespace, name) of a manifest, or a clear error."""
    api_version = manifest.get("apiVersion")
    kind = manifest.get("kind")
    metadata = manifest.get("metadata")
    if not isinstance(api_version, str) or not api_version:
        raise PermanentProviderError("manifest has no apiVersion")
    if not isinstance(kind, str) or not re.match(r"^[A-Z][A-Za-z0-9]*$", kind):
        raise PermanentProviderError(f"manifest {api_version} has no valid kind")
    if not isinstance(metadata, Mapping) or not isinstance(metadata.get("name"), str):
        raise PermanentProviderError(f"{kind} manifest has no metadata.name")
    name = check_dns_subdomain(f"{kind} name", metadata["name"])
    namespace = metadata.get("namespace") or ""
    if namespace:
        check_dns_label(f"{kind} namespace", namespace)
    return api_version, kind, namespace, name


def check_dns_subdomain(what: str, value: str) -> str:
    if len(value) > 253 or not all(_DNS_LABEL.match(p) for p in value.split(".")):
        raise PermanentProviderError(f"{what} {value!r} is not a valid Kubernetes name")
    return value


def to_yaml(manifest: Mapping[str, Any]) -> bytes:
    """Deterministic YAML: sorted keys, block style, UTF-8."""
    return yaml.safe_dump(
        _plain(manifest), sort_keys=True, default_flow_style=False, allow_unicode=True
    ).encode()


def _plain(value: Any) -> Any:
    # Mappings/tuples from frozen dataclasses become dicts/lists safe_dump accepts.
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
