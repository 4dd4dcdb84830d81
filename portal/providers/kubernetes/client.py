"""The only module importing the kubernetes client: one API client per environment.

PAVED_CLUSTERS maps environments to clusters, either as JSON::

    {"dev": {"kubeconfig": "/etc/paved/dev.yaml", "context": "dev"},
     "production": {"in_cluster": true}}

or as ``env=kubeconfig-path[#context]`` pairs separated by commas (``in-cluster`` for the
service account Paved runs under)::

    dev=/etc/paved/kube/dev.yaml,staging=/etc/paved/kube/nonprod.yaml#staging,production=in-cluster

Empty: every environment uses the default kubeconfig ($KUBECONFIG or ~/.kube/config), or the
in-cluster service account when running in a pod.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from kubernetes import client, config
from kubernetes.dynamic import DynamicClient

from portal.providers.base import PermanentProviderError, ProviderNotConfigured
from portal.providers.kubernetes.errors import PROVIDER

ANY_ENVIRONMENT = "*"


@dataclass(frozen=True)
class ClusterConfig:
    environment: str
    kubeconfig: str = ""  # empty: default loading rules
    context: str = ""
    in_cluster: bool = False

    def describe(self) -> str:
        if self.in_cluster:
            return "in-cluster service account"
        where = self.kubeconfig or "default kubeconfig"
        return f"{where}" + (f" (context {self.context})" if self.context else "")


def parse_clusters(raw: str) -> dict[str, ClusterConfig]:
    raw = raw.strip()
    if not raw:
        in_pod = bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
        default_file = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
        use_pod = in_pod and not Path(default_file).exists()
        return {ANY_ENVIRONMENT: ClusterConfig(ANY_ENVIRONMENT, in_cluster=use_pod)}
    clusters: dict[str, ClusterConfig] = {}
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ProviderNotConfigured(
                f"PAVED_CLUSTERS is not valid JSON: {exc}", provider=PROVIDER
            ) from exc
        for env, value in data.items():
            if isinstance(value, str):
                value = {"kubeconfig": value}
            if not isinstance(value, dict):
                raise ProviderNotConfigured(
                    f"PAVED_CLUSTERS[{env!r}] must be a path or an object", provider=PROVIDER
                )
            clusters[env] = ClusterConfig(
                env,
                kubeconfig=str(value.get("kubeconfig", "")),
                context=str(value.get("context", "")),
                in_cluster=bool(value.get("in_cluster", False)),
            )
        return clusters
    for pair in raw.split(","):
        env, sep, target = pair.strip().partition("=")
        if not sep or not env.strip() or not target.strip():
            raise ProviderNotConfigured(
                f"PAVED_CLUSTERS entry {pair.strip()!r} is not 'environment=kubeconfig-path'",
                provider=PROVIDER,
            )
        target = target.strip()
        if target == "in-cluster":
            clusters[env.strip()] = ClusterConfig(env.strip(), in_cluster=True)
        else:
            path, _, context = target.partition("#")
            clusters[env.strip()] = ClusterConfig(env.strip(), kubeconfig=path, context=context)
    return clusters


class TimeoutDynamicClient(DynamicClient):
    """DynamicClient whose every request (discovery included) carries a timeout."""

    def __init__(self, api_client: Any, *, timeout: float, cache_file: str | None) -> None:
        self._paved_timeout = timeout  # set before super().__init__, which runs discovery
        super().__init__(api_client, cache_file=cache_file)  # type: ignore[no-untyped-call]

    def request(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        params.setdefault("_request_timeout", self._paved_timeout)
        return super().request(method, path, body=body, **params)


def api_client_for(cluster: ClusterConfig) -> client.ApiClient:
    configuration = client.Configuration()
    if cluster.in_cluster:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        if cluster.kubeconfig and not Path(cluster.kubeconfig).is_file():
            raise ProviderNotConfigured(
                f"kubeconfig {cluster.kubeconfig} for environment {cluster.environment!r} "
                "does not exist",
                provider=PROVIDER,
            )
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=cluster.kubeconfig or None,
            context=cluster.context or None,
            client_configuration=configuration,
            persist_config=False,  # never write refreshed tokens back into the file
        )
    return client.ApiClient(configuration)


def dynamic_client(api_client: client.ApiClient, environment: str) -> TimeoutDynamicClient:
    cache_dir = Path(settings.PAVED_DATA_DIR) / "kube-discovery"
    cache_dir.mkdir(parents=True, exist_ok=True)
    host = api_client.configuration.host.replace("/", "_").replace(":", "_")
    return TimeoutDynamicClient(
        api_client,
        timeout=settings.PAVED_PROVIDER_TIMEOUT,
        cache_file=str(cache_dir / f"{environment}-{host}.json"),
    )


def ping(api_client: client.ApiClient, environment: str) -> None:
    """GET /api/v1 (needs authenticated discovery access): reachable, credentials accepted."""
    dynamic_client(api_client, environment).request("get", "/api/v1")


def lookup(clusters: dict[str, ClusterConfig], environment: str) -> ClusterConfig:
    if environment in clusters:
        return clusters[environment]
    if ANY_ENVIRONMENT in clusters:
        return clusters[ANY_ENVIRONMENT]
    raise PermanentProviderError(
        f"no cluster is configured for environment {environment!r}; PAVED_CLUSTERS has "
        + ", ".join(sorted(clusters)),
        provider=PROVIDER,
    )
