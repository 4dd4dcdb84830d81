"""The kubernetes provider with the real client against kmock (tests/fakes/kube.py)."""

from __future__ import annotations

import json
from typing import Any

import kmock
import pytest
from kubernetes import client, config

from portal.providers.base import (
    NamespaceSpec,
    PermanentProviderError,
    ProviderNotConfigured,
    TransientProviderError,
)
from portal.providers.kubernetes import KubernetesCluster
from portal.providers.kubernetes.client import ClusterConfig, parse_clusters

CLAIM: dict[str, Any] = {
    "apiVersion": "platform.paved.dev/v1alpha1",
    "kind": "PostgreSQLInstance",
    "metadata": {"name": "orders-db", "namespace": "orders-dev"},
    "spec": {"parameters": {"storageGB": 20}},
}


def stored(km, plural: str, namespace: str | None, name: str) -> dict:
    return km.call(lambda: km.handler.objects[kmock.resource(plural), namespace, name].raw)


def custom_api(settings, env="dev") -> client.CustomObjectsApi:
    """A plain client for the 'controller' side of the test (setting status)."""
    clusters = parse_clusters(settings.PAVED_CLUSTERS)
    return client.CustomObjectsApi(
        config.new_client_from_config(
            config_file=clusters[env].kubeconfig,
            context=clusters[env].context,
            persist_config=False,
        )
    )


def test_namespace_objects_are_server_side_applied(kube_clusters):
    km = kube_clusters["dev"]
    cluster = KubernetesCluster()
    spec = NamespaceSpec(name="orders-dev", owner_group="team-orders", service="orders-api")
    assert cluster.ensure_namespace(spec)
    ns = stored(km, "v1/namespaces", None, "orders-dev")
    assert ns["metadata"]["labels"]["paved.dev/owner"] == "team-orders"
    assert ns["metadata"]["labels"]["paved.dev/service"] == "orders-api"
    binding = stored(
        km, "rbac.authorization.k8s.io/v1/rolebindings", "orders-dev", "paved-team-edit"
    )
    assert binding["subjects"][0]["name"] == "team-orders"
    assert (
        stored(km, "v1/resourcequotas", "orders-dev", "paved-quota")["spec"]["hard"]["pods"] == "20"
    )
    updates = km.call(lambda: len(km.handler[kmock.action.UPDATE]))
    assert not cluster.ensure_namespace(spec)  # applying again changes nothing
    # ...and is still a server-side apply (PATCH), not a create.
    assert km.call(lambda: len(km.handler[kmock.action.UPDATE])) == updates + 4
    # The staging cluster saw nothing.
    staging = kube_clusters["staging"]
    assert staging.call(lambda: len(staging.handler[kmock.action.UPDATE])) == 0


def test_claim_status_conditions_are_read_back(kube_clusters, settings):
    cluster = KubernetesCluster()
    cluster.apply_manifests([CLAIM], environment="dev")
    status = cluster.read_status(
        CLAIM["apiVersion"], CLAIM["kind"], "orders-dev", "orders-db", environment="dev"
    )
    assert status.exists
    assert not status.conditions
    # Crossplane reports readiness through status conditions.
    conditions = [
        {"type": "Synced", "status": "True", "reason": "ReconcileSuccess"},
        {"type": "Ready", "status": "False", "reason": "Creating", "message": "creating database"},
    ]
    api = custom_api(settings)
    api.patch_namespaced_custom_object_status(
        "platform.paved.dev",
        "v1alpha1",
        "orders-dev",
        "postgresqlinstances",
        "orders-db",
        {"status": {"conditions": conditions}},
    )
    status = cluster.read_status(
        CLAIM["apiVersion"], CLAIM["kind"], "orders-dev", "orders-db", environment="dev"
    )
    assert status.ready is False
    assert status.message == "creating database"
    assert [c["type"] for c in status.conditions] == ["Synced", "Ready"]
    conditions[1] = {"type": "Ready", "status": "True", "reason": "Available"}
    api.patch_namespaced_custom_object_status(
        "platform.paved.dev",
        "v1alpha1",
        "orders-dev",
        "postgresqlinstances",
        "orders-db",
        {"status": {"conditions": conditions}},
    )
    assert cluster.read_status(
        CLAIM["apiVersion"], CLAIM["kind"], "orders-dev", "orders-db", environment="dev"
    ).ready
    # A status written by the controller is not a change of Paved's desired state.
    assert cluster.apply_manifests([CLAIM], environment="dev") is False


def test_argo_application_health(kube_clusters, settings):
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "orders-api-dev", "namespace": "argocd"},
        "spec": {"project": "default"},
    }
    cluster = KubernetesCluster()
    cluster.apply_manifests([app], environment="dev")
    custom_api(settings).patch_namespaced_custom_object_status(
        "argoproj.io",
        "v1alpha1",
        "argocd",
        "applications",
        "orders-api-dev",
        {"status": {"sync": {"status": "Synced"}, "health": {"status": "Progressing"}}},
    )
    status = cluster.read_status(
        "argoproj.io/v1alpha1", "Application", "argocd", "orders-api-dev", environment="dev"
    )
    assert status.message == "Synced/Progressing"
    assert not status.ready


def test_unknown_kind_and_environment_are_permanent(kube_clusters):
    cluster = KubernetesCluster()
    with pytest.raises(PermanentProviderError, match="is its CRD installed"):
        cluster.apply_manifests(
            [{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}],
            environment="dev",
        )
    with pytest.raises(
        PermanentProviderError, match="no cluster is configured for environment 'prod'"
    ):
        cluster.read_status("v1", "Namespace", "", "x", environment="prod")


def test_unreachable_cluster_is_transient(tmp_path, settings):
    from tests.fakes.kube import write_kubeconfig

    settings.PAVED_DATA_DIR = tmp_path
    settings.PAVED_PROVIDER_TIMEOUT = 2
    path = write_kubeconfig(tmp_path / "k", "http://127.0.0.1:9")  # discard port: refused
    cluster = KubernetesCluster({"dev": ClusterConfig("dev", kubeconfig=str(path))})
    with pytest.raises(TransientProviderError, match="cannot reach the cluster"):
        cluster.read_status("v1", "Namespace", "", "x", environment="dev")
    assert cluster.check_configuration()[0].startswith("kubernetes: environment dev")


def test_parse_clusters(tmp_path):
    pairs = parse_clusters("dev=/k/dev.yaml,staging=/k/np.yaml#staging,production=in-cluster")
    assert pairs["staging"] == ClusterConfig("staging", kubeconfig="/k/np.yaml", context="staging")
    assert pairs["production"].in_cluster
    as_json = parse_clusters(json.dumps({"dev": "/k/dev.yaml", "prod": {"in_cluster": True}}))
    assert as_json["dev"].kubeconfig == "/k/dev.yaml"
    assert as_json["prod"].in_cluster
    with pytest.raises(ProviderNotConfigured, match="is not 'environment=kubeconfig-path'"):
        parse_clusters("dev")
    missing = KubernetesCluster(parse_clusters(f"dev={tmp_path}/nope.yaml"))
    assert "does not exist" in missing.check_configuration()[0]
