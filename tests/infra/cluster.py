"""A tiny Cluster for tests (registered as "test-cluster") until the real gitops/kubernetes
providers land: manifests are YAML files under PAVED_TEST_CLUSTER_DIR, and a claim's status is
whatever the test writes next to it (a real file, so a worker subprocess sees it too)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from portal.providers.base import NamespaceSpec, ResourceStatus, TransientProviderError
from portal.providers.registry import CLUSTERS


def cluster_dir() -> Path:
    return Path(os.environ.get("PAVED_TEST_CLUSTER_DIR", "/tmp/paved-test-cluster"))


def manifest_path(environment: str, kind: str, namespace: str, name: str) -> Path:
    return cluster_dir() / environment / namespace / f"{kind.lower()}-{name}.yaml"


def set_conditions(
    environment: str, kind: str, namespace: str, name: str, conditions: list[dict[str, Any]]
) -> None:
    path = manifest_path(environment, kind, namespace, name).with_suffix(".status.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(conditions))


READY = [
    {"type": "Synced", "status": "True", "reason": "ReconcileSuccess"},
    {"type": "Ready", "status": "True", "reason": "Available"},
]


class FileCluster:
    name = "test-cluster"
    observes_status = True

    def ensure_namespace(self, spec: NamespaceSpec) -> bool:
        path = cluster_dir() / spec.environment / spec.name
        existed = path.exists()
        path.mkdir(parents=True, exist_ok=True)
        return not existed

    def delete_namespace(self, name: str, *, environment: str = "dev") -> bool:
        return False

    def apply_manifests(
        self, manifests: Sequence[Mapping[str, Any]], *, environment: str, message: str = ""
    ) -> bool:
        failures = cluster_dir() / "fail-apply"
        if failures.exists() and int(failures.read_text() or 0) > 0:
            failures.write_text(str(int(failures.read_text()) - 1))
            raise TransientProviderError("git push rejected (simulated)", provider=self.name)
        changed = False
        for manifest in manifests:
            meta = manifest["metadata"]
            path = manifest_path(environment, manifest["kind"], meta["namespace"], meta["name"])
            path.parent.mkdir(parents=True, exist_ok=True)
            text = yaml.safe_dump(dict(manifest), sort_keys=False)
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
                changed = True
        return changed

    def delete_manifest(
        self, api_version: str, kind: str, namespace: str, name: str, *, environment: str
    ) -> bool:
        path = manifest_path(environment, kind, namespace, name)
        if not path.exists():
            return False
        path.unlink()
        return True

    def read_status(
        self, api_version: str, kind: str, namespace: str, name: str, *, environment: str
    ) -> ResourceStatus:
        path = manifest_path(environment, kind, namespace, name)
        if not path.exists():
            return ResourceStatus(exists=False)
        status = path.with_suffix(".status.json")
        conditions = json.loads(status.read_text()) if status.exists() else READY
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        return ResourceStatus(exists=True, conditions=conditions, ready=ready)

    def check_configuration(self) -> list[str]:
        return []


class CommitOnlyCluster(FileCluster):
    """Behaves like the GitOps provider: it commits, and there is no cluster to read."""

    name = "gitops-test"
    observes_status = False


CLUSTERS.register("test-cluster")(FileCluster)
CLUSTERS.register("gitops-test")(CommitOnlyCluster)
