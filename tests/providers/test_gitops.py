"""What the gitops provider commits: files, labels, the Argo CD Application, one commit each."""

from __future__ import annotations

import yaml

from portal.providers.base import ApplicationSpec, NamespaceSpec
from portal.providers.gitops import GitOpsProvider
from portal.providers.local_git import LocalGitHost


def test_namespace_files_and_labels(git_root, settings):
    settings.PAVED_GITOPS_REPO = "platform/gitops"
    provider = GitOpsProvider()
    provider.ensure_namespace(
        NamespaceSpec(name="orders-dev", owner_group="team-orders", service="orders-api")
    )
    host = LocalGitHost()
    repo = host.get_repository("platform", "gitops")
    assert repo is not None
    files = host.list_files(repo)
    assert files == [
        "README.md",
        "environments/dev/_cluster/namespace/orders-dev.yaml",
        "environments/dev/orders-dev/limitrange/paved-defaults.yaml",
        "environments/dev/orders-dev/resourcequota/paved-quota.yaml",
        "environments/dev/orders-dev/rolebinding.rbac.authorization.k8s.io/paved-team-edit.yaml",
    ]
    ns = yaml.safe_load(host.read_file(repo, files[1]))
    assert ns["metadata"]["labels"]["paved.dev/owner"] == "team-orders"
    assert ns["metadata"]["labels"]["paved.dev/service"] == "orders-api"
    binding = yaml.safe_load(host.read_file(repo, files[4]))
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "team-orders"}
    ]
    # README commit + namespace commit: the four objects went in as ONE commit.
    assert host.commit_count(repo) == 2


def test_application_manifest(git_root):
    provider = GitOpsProvider()
    provider.ensure_application(
        ApplicationSpec(
            name="orders-api-staging",
            repo_url="http://paved.test/git/acme/orders-api.git",
            path="deploy/staging",
            destination_namespace="orders-staging",
            environment="staging",
        )
    )
    app = provider.read_manifest(
        "argoproj.io/v1alpha1",
        "Application",
        "argocd",
        "orders-api-staging",
        environment="staging",
    )
    assert app["spec"]["syncPolicy"] == {
        "automated": {"prune": True, "selfHeal": True},
        "syncOptions": ["CreateNamespace=true", "RespectIgnoreDifferences=true"],
    }
    # Canary weights on the HTTPRoute belong to Argo Rollouts, not to selfHeal.
    assert app["spec"]["ignoreDifferences"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
         "jqPathExpressions": [".spec.rules[].backendRefs[].weight"]}
    ]  # fmt: skip
    assert app["spec"]["source"] == {
        "repoURL": "http://paved.test/git/acme/orders-api.git",
        "path": "deploy/staging",
        "targetRevision": "HEAD",
    }
    assert app["spec"]["destination"]["namespace"] == "orders-staging"
    raw = LocalGitHost().read_file(
        provider.repository(),
        "environments/staging/argocd/application.argoproj.io/orders-api-staging.yaml",
    )
    assert raw.startswith(b"apiVersion: argoproj.io/v1alpha1\nkind: Application\n")


def test_status_says_committed_not_ready(git_root):
    provider = GitOpsProvider()
    provider.apply_manifests(
        [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}}],
        environment="dev",
    )
    status = provider.read_status("v1", "ConfigMap", "n", "c", environment="dev")
    assert status.exists
    assert not status.ready
    assert "committed to platform/gitops" in status.message
