"""`gitops` deployer and cluster: commit manifests to the platform GitOps repository.

Argo CD (app of apps) watches that repository; Paved never talks to a cluster in this mode.
Layout, one object per file, on the repository's default branch::

    environments/<env>/_cluster/<kind>[.<group>]/<name>.yaml         cluster-scoped objects
    environments/<env>/<namespace>/<kind>[.<group>]/<name>.yaml      namespaced objects

Argo CD Applications live in ``environments/<env>/<PAVED_ARGOCD_NAMESPACE>/application.argoproj.io/``,
so a root Application per environment pointing at ``environments/<env>`` (recurse) applies all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from django.conf import settings

from portal.providers.base import (
    ApplicationSpec,
    AppStatus,
    GitHost,
    NamespaceSpec,
    PermanentProviderError,
    RepoRef,
    ResourceStatus,
)
from portal.providers.manifests import (
    application_manifest,
    check_dns_label,
    namespace_manifests,
    to_yaml,
    validate_manifest,
)

PROVIDER = "gitops"
CLUSTER_SCOPE = "_cluster"

README = """# Platform GitOps repository

Paved commits one Kubernetes object per file here; Argo CD applies them.

    environments/<env>/_cluster/<kind>[.<group>]/<name>.yaml      cluster-scoped objects
    environments/<env>/<namespace>/<kind>[.<group>]/<name>.yaml   namespaced objects

Point one Argo CD Application per environment at `environments/<env>` with
`directory.recurse: true` ("app of apps"). Do not edit files by hand: Paved rewrites them.
"""


def manifest_path(environment: str, api_version: str, kind: str, namespace: str, name: str) -> str:
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    kind_dir = kind.lower() + (f".{group}" if group else "")
    return f"environments/{environment}/{namespace or CLUSTER_SCOPE}/{kind_dir}/{name}.yaml"


class GitOpsProvider:
    """Both a Deployer and a Cluster: "applying" means committing to the GitOps repository."""

    name = "gitops"

    def __init__(self, host: GitHost | None = None) -> None:
        self._host = host
        self._repo: RepoRef | None = None

    @property
    def host(self) -> GitHost:
        if self._host is None:
            from portal.providers import git_host

            self._host = git_host()
        return self._host

    def repository(self) -> RepoRef:
        """The platform GitOps repository, created (with a README) on first use."""
        if self._repo is None:
            owner, _, name = settings.PAVED_GITOPS_REPO.partition("/")
            if not owner or not name:
                raise PermanentProviderError(
                    f"PAVED_GITOPS_REPO={settings.PAVED_GITOPS_REPO!r} must be 'owner/name'",
                    provider=PROVIDER,
                )
            repo, created = self.host.ensure_repository(
                owner, name, description="Kubernetes manifests committed by Paved for Argo CD"
            )
            if created:
                self.host.commit_files(
                    repo, {"README.md": README.encode()}, message="Describe the layout"
                )
            self._repo = repo
        return self._repo

    def _commit(
        self, files: Mapping[str, bytes], *, message: str, delete: Sequence[str] = ()
    ) -> bool:
        return self.host.commit_files(
            self.repository(), files, message=message, delete=delete
        ).changed

    def _files_for(
        self, manifests: Sequence[Mapping[str, Any]], environment: str
    ) -> dict[str, bytes]:
        check_dns_label("environment", environment)
        files: dict[str, bytes] = {}
        for manifest in manifests:
            api_version, kind, namespace, name = validate_manifest(manifest)
            path = manifest_path(environment, api_version, kind, namespace, name)
            if path in files:
                raise PermanentProviderError(f"{kind} {name} appears twice", provider=PROVIDER)
            files[path] = to_yaml(manifest)
        return files

    # --- Cluster -------------------------------------------------------------------------
    def ensure_namespace(self, spec: NamespaceSpec) -> bool:
        files = self._files_for(namespace_manifests(spec), spec.environment)
        return self._commit(
            files, message=f"{spec.environment}: namespace {spec.name} for {spec.owner_group}"
        )

    def delete_namespace(self, name: str, *, environment: str = "dev") -> bool:
        check_dns_label("namespace", name)
        check_dns_label("environment", environment)
        ns_file = manifest_path(environment, "v1", "Namespace", "", name)
        prefix = f"environments/{environment}/{name}/"
        doomed = [p for p in self.host.list_files(self.repository()) if p.startswith(prefix)]
        return self._commit(
            {}, message=f"{environment}: delete namespace {name}", delete=[ns_file, *doomed]
        )

    def apply_manifests(
        self, manifests: Sequence[Mapping[str, Any]], *, environment: str, message: str = ""
    ) -> bool:
        files = self._files_for(manifests, environment)
        if not files:
            return False
        return self._commit(files, message=message or f"{environment}: apply manifests")

    def delete_manifest(
        self, api_version: str, kind: str, namespace: str, name: str, *, environment: str
    ) -> bool:
        path = manifest_path(environment, api_version, kind, namespace, name)
        return self._commit({}, message=f"{environment}: delete {kind} {name}", delete=[path])

    def read_manifest(
        self, api_version: str, kind: str, namespace: str, name: str, *, environment: str
    ) -> dict[str, Any] | None:
        """The committed object, parsed, or None."""
        path = manifest_path(environment, api_version, kind, namespace, name)
        raw = self.host.read_file(self.repository(), path)
        return yaml.safe_load(raw) if raw is not None else None

    def read_status(
        self, api_version: str, kind: str, namespace: str, name: str, *, environment: str
    ) -> ResourceStatus:
        path = manifest_path(environment, api_version, kind, namespace, name)
        repo = self.repository()
        if self.host.read_file(repo, path) is None:
            return ResourceStatus(exists=False, message=f"not committed to {repo.full_name}")
        # Committed is all this mode can know: readiness lives in a cluster we do not reach.
        return ResourceStatus(
            exists=True,
            ready=False,
            message=f"committed to {repo.full_name} at {path}; "
            "no cluster connection, Argo CD applies it",
        )

    # --- Deployer ------------------------------------------------------------------------
    def ensure_application(self, app: ApplicationSpec) -> bool:
        manifest = application_manifest(app, argocd_namespace=settings.PAVED_ARGOCD_NAMESPACE)
        files = self._files_for([manifest], app.environment)
        return self._commit(files, message=f"{app.environment}: Argo CD application {app.name}")

    def delete_application(self, name: str, *, environment: str = "dev") -> bool:
        check_dns_label("application name", name)
        return self.delete_manifest(
            "argoproj.io/v1alpha1", "Application", settings.PAVED_ARGOCD_NAMESPACE, name,
            environment=environment,
        )  # fmt: skip

    def application_status(self, name: str, *, environment: str = "dev") -> AppStatus:
        status = self.read_status(
            "argoproj.io/v1alpha1",
            "Application",
            settings.PAVED_ARGOCD_NAMESPACE,
            name,
            environment=environment,
        )
        if not status.exists:
            return AppStatus(sync="Unknown", health="Missing", message=status.message)
        return AppStatus(sync="Unknown", health="Unknown", message=status.message)

    def check_configuration(self) -> list[str]:
        problems = []
        owner, _, name = settings.PAVED_GITOPS_REPO.partition("/")
        if not owner or not name:
            problems.append(
                f"gitops: PAVED_GITOPS_REPO={settings.PAVED_GITOPS_REPO!r} is not 'owner/name'"
            )
        return problems + [f"gitops: {p}" for p in self.host.check_configuration()]
