"""Cluster and Deployer contracts, run against every implementation.

gitops commits to a real local git repository; kubernetes talks to kmock on 127.0.0.1;
argocd talks to our Argo CD fake on 127.0.0.1.
"""

from __future__ import annotations

import pytest

from portal.providers.base import (
    ApplicationSpec,
    Cluster,
    Deployer,
    NamespaceSpec,
    PermanentProviderError,
)

pytestmark = pytest.mark.usefixtures("git_root")

CLAIM = {
    "apiVersion": "platform.paved.dev/v1alpha1",
    "kind": "PostgreSQLInstance",
    "metadata": {"name": "orders-db", "namespace": "orders-dev"},
    "spec": {"parameters": {"storageGB": 20, "size": "small"}},
}


@pytest.fixture(params=["gitops", "kubernetes"])
def cluster(request, settings) -> Cluster:
    from portal.providers import cluster as resolve

    if request.param == "kubernetes":
        request.getfixturevalue("kube_clusters")
    settings.PAVED_CLUSTER_PROVIDER = request.param
    return resolve()


@pytest.fixture(params=["gitops", "argocd"])
def deployer(request, settings) -> Deployer:
    from portal.providers import deployer as resolve

    if request.param == "argocd":
        request.getfixturevalue("argocd_settings")
    settings.PAVED_DEPLOY_PROVIDER = request.param
    return resolve()


def ns_spec(**overrides) -> NamespaceSpec:
    values = {
        "name": "orders-dev",
        "owner_group": "team-orders",
        "service": "orders-api",
        "environment": "dev",
        "quota": {"requests.cpu": "4"},
    }
    return NamespaceSpec(**(values | overrides))


def test_namespace_ensured_once(cluster):
    assert cluster.ensure_namespace(ns_spec()) is True
    assert cluster.ensure_namespace(ns_spec()) is False
    status = cluster.read_status("v1", "Namespace", "", "orders-dev", environment="dev")
    assert status.exists
    quota = cluster.read_status(
        "v1", "ResourceQuota", "orders-dev", "paved-quota", environment="dev"
    )
    assert quota.exists
    binding = cluster.read_status(
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        "orders-dev",
        "paved-team-edit",
        environment="dev",
    )
    assert binding.exists
    # A changed quota is a change.
    assert cluster.ensure_namespace(ns_spec(quota={"requests.cpu": "8"})) is True


def test_manifest_apply_twice_read_delete(cluster):
    cluster.ensure_namespace(ns_spec())
    assert cluster.apply_manifests([CLAIM], environment="dev", message="orders-db") is True
    assert cluster.apply_manifests([CLAIM], environment="dev", message="orders-db") is False
    status = cluster.read_status(
        CLAIM["apiVersion"], CLAIM["kind"], "orders-dev", "orders-db", environment="dev"
    )
    assert status.exists
    assert cluster.delete_manifest(
        CLAIM["apiVersion"], CLAIM["kind"], "orders-dev", "orders-db", environment="dev"
    )
    gone = cluster.read_status(
        CLAIM["apiVersion"], CLAIM["kind"], "orders-dev", "orders-db", environment="dev"
    )
    assert not gone.exists
    assert not cluster.delete_manifest(
        CLAIM["apiVersion"], CLAIM["kind"], "orders-dev", "orders-db", environment="dev"
    )


def test_environments_are_separate(cluster):
    cluster.ensure_namespace(ns_spec(environment="dev"))
    assert not cluster.read_status(
        "v1", "Namespace", "", "orders-dev", environment="staging"
    ).exists


def test_delete_namespace(cluster):
    cluster.ensure_namespace(ns_spec())
    assert cluster.delete_namespace("orders-dev", environment="dev") is True
    assert not cluster.read_status("v1", "Namespace", "", "orders-dev", environment="dev").exists


def test_bad_input_is_permanent_and_writes_nothing(cluster):
    with pytest.raises(PermanentProviderError, match=r"not a valid Kubernetes name"):
        cluster.ensure_namespace(ns_spec(name="Orders_Dev"))
    with pytest.raises(PermanentProviderError, match=r"no metadata\.name"):
        cluster.apply_manifests(
            [CLAIM, {"apiVersion": "v1", "kind": "ConfigMap"}], environment="dev"
        )
    assert not cluster.read_status(
        CLAIM["apiVersion"], CLAIM["kind"], "orders-dev", "orders-db", environment="dev"
    ).exists


APP = ApplicationSpec(
    name="orders-api-dev",
    repo_url="https://git.example/acme/orders-api.git",
    path="deploy/dev",
    destination_namespace="orders-dev",
    environment="dev",
)


def test_application_ensured_once_and_status_read(deployer):
    assert deployer.application_status("orders-api-dev").health == "Missing"
    assert deployer.ensure_application(APP) is True
    assert deployer.ensure_application(APP) is False
    status = deployer.application_status("orders-api-dev", environment="dev")
    assert status.health != "Missing"
    assert status.sync in {"Synced", "OutOfSync", "Unknown"}
    changed = ApplicationSpec(**{**APP.__dict__, "revision": "v1.2.0"})
    assert deployer.ensure_application(changed) is True


def test_cluster_configuration_checks_clean(cluster):
    assert cluster.check_configuration() == []


def test_deployer_configuration_checks_clean(deployer):
    assert deployer.check_configuration() == []
