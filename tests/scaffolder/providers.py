"""Providers for scaffolder tests until the embedded local_git/gitops providers land on main.

They implement the Protocols in portal/providers/base.py with real files on disk (one folder per
repository, one JSON file per namespace/application), so the steps exercise the real contract.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings

from portal.providers.base import (
    ApplicationSpec,
    AppStatus,
    CommitRef,
    NamespaceSpec,
    RepoRef,
    ResourceStatus,
)
from portal.providers.registry import CLUSTERS, DEPLOYERS, GIT_HOSTS


def _root(name: str) -> Path:
    path = (
        Path(
            os.environ.get("PAVED_TEST_PROVIDER_DIR") or settings.PAVED_DATA_DIR / "test-providers"
        )
        / name
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


class DiskGitHost:
    name = "test"

    def _dir(self, owner: str, name: str) -> Path:
        return _root("git") / owner / name

    def _ref(self, owner: str, name: str) -> RepoRef:
        return RepoRef(host="test", owner=owner, name=name, web_url=f"http://git.test/{owner}/{name}",
                       clone_url=f"http://git.test/{owner}/{name}.git")  # fmt: skip

    def ensure_repository(self, owner: str, name: str, *, description: str = "", private: bool = True,
                          default_branch: str = "main", topics: Sequence[str] = (),
                          team: str | None = None, resume: bool = False,
                          warn: object = None) -> tuple[RepoRef, bool]:  # fmt: skip
        path = self._dir(owner, name)
        created = not path.exists()
        path.mkdir(parents=True, exist_ok=True)
        if created and team:
            (path / "team").write_text(team)
        return self._ref(owner, name), created

    def team_of(self, owner: str, name: str) -> str | None:
        path = self._dir(owner, name) / "team"
        return path.read_text() if path.exists() else None

    def get_repository(self, owner: str, name: str) -> RepoRef | None:
        return self._ref(owner, name) if self._dir(owner, name).exists() else None

    def commit_files(self, repo: RepoRef, files: Mapping[str, bytes], *, message: str,
                     branch: str | None = None, delete_missing: bool = False) -> CommitRef:  # fmt: skip
        branch_dir = self._dir(repo.owner, repo.name) / (branch or "main")
        log = self._dir(repo.owner, repo.name) / f"{branch or 'main'}.commits"
        before = self._tree(branch_dir)
        after = {**({} if delete_missing else before), **dict(files)}
        sha = hashlib.sha256(
            json.dumps(sorted((k, v.hex()) for k, v in after.items())).encode()
        ).hexdigest()
        if after == before and log.exists():
            return CommitRef(sha=sha, changed=False)
        for rel, data in after.items():
            target = branch_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        with log.open("a") as fh:
            fh.write(f"{sha} {message}\n")
        return CommitRef(sha=sha, changed=True)

    def _tree(self, root: Path) -> dict[str, bytes]:
        if not root.exists():
            return {}
        return {
            p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
        }

    def commits(self, owner: str, name: str, branch: str = "main") -> list[str]:
        log = self._dir(owner, name) / f"{branch}.commits"
        return log.read_text().splitlines() if log.exists() else []

    def read_file(self, repo: RepoRef, path: str, *, ref: str | None = None) -> bytes | None:
        target = self._dir(repo.owner, repo.name) / (ref or "main") / path
        return target.read_bytes() if target.is_file() else None

    def is_private(self, repo: RepoRef) -> bool:
        return False

    def delete_repository(self, repo: RepoRef) -> bool:
        import shutil

        path = self._dir(repo.owner, repo.name)
        existed = path.exists()
        shutil.rmtree(path, ignore_errors=True)
        return existed

    def list_files(self, repo: RepoRef, *, ref: str | None = None) -> list[str]:
        return sorted(self._tree(self._dir(repo.owner, repo.name) / (ref or "main")))

    def ensure_webhook(self, repo: RepoRef, *, url: str, secret: str) -> bool:
        return False

    def check_configuration(self) -> list[str]:
        return []


class DiskCluster:
    name = "test"

    def ensure_namespace(self, spec: NamespaceSpec) -> bool:
        path = _root("namespaces") / f"{spec.environment}-{spec.name}.json"
        data = json.dumps({"name": spec.name, "owner": spec.owner_group, "quota": dict(spec.quota)})
        changed = not path.exists() or path.read_text() != data
        path.write_text(data)
        return changed

    def delete_namespace(self, name: str, *, environment: str = "dev") -> bool:
        path = _root("namespaces") / f"{environment}-{name}.json"
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed

    def apply_manifests(
        self, manifests: Sequence[Mapping[str, Any]], *, environment: str, message: str = ""
    ) -> bool:
        return False

    def delete_manifest(self, *args: Any, **kwargs: Any) -> bool:
        return False

    def read_status(
        self, api_version: str, kind: str, namespace: str, name: str, *, environment: str
    ) -> ResourceStatus:
        if kind != "Namespace":
            raise NotImplementedError
        exists = (_root("namespaces") / f"{environment}-{name}.json").exists()
        return ResourceStatus(exists=exists, ready=exists)

    def check_configuration(self) -> list[str]:
        return []


class DiskDeployer:
    name = "test"

    def ensure_application(self, app: ApplicationSpec) -> bool:
        path = _root("apps") / f"{app.environment}-{app.name}.json"
        data = json.dumps(
            {
                "name": app.name,
                "repo": app.repo_url,
                "path": app.path,
                "ns": app.destination_namespace,
            }
        )
        changed = not path.exists() or path.read_text() != data
        path.write_text(data)
        return changed

    def application_status(self, name: str, *, environment: str = "dev") -> AppStatus:
        if not (_root("apps") / f"{environment}-{name}.json").exists():
            return AppStatus(sync="Unknown", health="Missing")
        return AppStatus(sync="Synced", health="Healthy")

    def delete_application(self, name: str, *, environment: str = "dev") -> bool:
        path = _root("apps") / f"{environment}-{name}.json"
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed

    def check_configuration(self) -> list[str]:
        return []


def register_test_providers() -> None:
    GIT_HOSTS.register("test")(DiskGitHost)
    CLUSTERS.register("test")(DiskCluster)
    DEPLOYERS.register("test")(DiskDeployer)


def unregister_test_providers() -> None:
    """Other suites list the known provider names; "test" must not leak into them."""
    for registry in (GIT_HOSTS, CLUSTERS, DEPLOYERS):
        registry.factories.pop("test", None)
