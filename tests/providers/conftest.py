from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def git_root(settings, tmp_path: Path) -> Path:
    """Local git repositories live in this test's own directory."""
    root = tmp_path / "git"
    settings.PAVED_GIT_LOCAL_ROOT = root
    settings.PAVED_BASE_URL = "http://paved.test"
    return root


@pytest.fixture
def fake_github():
    from tests.fakes.github import FakeGitHub

    fake = FakeGitHub().start()
    yield fake
    fake.stop()


@pytest.fixture
def github_settings(settings, fake_github):
    """PAVED_GIT_PROVIDER=github pointed at the loopback fake, with a token."""
    settings.PAVED_GITHUB_API_URL = fake_github.url
    settings.PAVED_GITHUB_TOKEN = "ghp_test"
    settings.PAVED_GITHUB_ORG = "acme"
    settings.PAVED_GITHUB_APP_ID = ""
    settings.PAVED_GITHUB_APP_PRIVATE_KEY = ""
    settings.PAVED_GITHUB_INSTALLATION_ID = ""
    settings.PAVED_GITHUB_THROTTLE = False
    settings.PAVED_PROVIDER_TIMEOUT = 5
    return settings


CRDS = {
    "argoproj.io/v1alpha1/applications": {"kind": "Application", "singular": "application"},
    "platform.paved.dev/v1alpha1/postgresqlinstances": {
        "kind": "PostgreSQLInstance",
        "singular": "postgresqlinstance",
    },
}


def start_kmock():
    from tests.fakes.kube import KmockThread

    km = KmockThread().start()

    def declare():
        km.handler.resources.load_bundled()  # built-in kinds (a K3s discovery dump)
        for key, info in CRDS.items():  # what installing the CRDs would add
            km.handler.resources[key] = {
                **info,
                "namespaced": True,
                "verbs": {"create", "get", "list", "patch", "update", "delete", "watch"},
            }

    km.call(declare)
    return km


@pytest.fixture
def kube_clusters(settings, tmp_path):
    """Two emulated clusters (dev, staging) behind kubeconfig files, as PAVED_CLUSTERS."""
    from tests.fakes.kube import write_kubeconfig

    servers = {"dev": start_kmock(), "staging": start_kmock()}
    settings.PAVED_DATA_DIR = tmp_path / "data"
    settings.PAVED_PROVIDER_TIMEOUT = 5
    pairs = []
    for env, km in servers.items():
        path = write_kubeconfig(tmp_path / f"{env}.kubeconfig", km.url, context=f"{env}-ctx")
        pairs.append(f"{env}={path}#{env}-ctx")
    settings.PAVED_CLUSTERS = ",".join(pairs)
    yield servers
    for km in reversed(list(servers.values())):  # kmock chains a global resolver: LIFO
        km.stop()


@pytest.fixture
def fake_argocd():
    from tests.fakes.argocd import FakeArgoCD

    fake = FakeArgoCD().start()
    yield fake
    fake.stop()


@pytest.fixture
def argocd_settings(settings, fake_argocd):
    settings.PAVED_ARGOCD_URL = fake_argocd.url
    settings.PAVED_ARGOCD_TOKEN = fake_argocd.token
    settings.PAVED_PROVIDER_TIMEOUT = 5
    return settings
