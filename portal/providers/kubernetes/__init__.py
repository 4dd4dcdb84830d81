"""`kubernetes` cluster provider (official client, server-side apply, several clusters)."""

from __future__ import annotations

from portal.providers.kubernetes.provider import KubernetesCluster
from portal.providers.registry import CLUSTERS


@CLUSTERS.register("kubernetes")
def make_kubernetes_cluster() -> KubernetesCluster:
    return KubernetesCluster()


__all__ = ["KubernetesCluster", "make_kubernetes_cluster"]
