"""`gitops` (the default Deployer and Cluster): manifests committed to the GitOps repository."""

from __future__ import annotations

from portal.providers.gitops.provider import GitOpsProvider, manifest_path
from portal.providers.registry import CLUSTERS, DEPLOYERS


@DEPLOYERS.register("gitops")
@CLUSTERS.register("gitops")
def make_gitops_provider() -> GitOpsProvider:
    return GitOpsProvider()


__all__ = ["GitOpsProvider", "make_gitops_provider", "manifest_path"]
