"""External systems behind small interfaces (see base.py), chosen by settings at call time.

git_host()  -> PAVED_GIT_PROVIDER      local (default) | github
deployer()  -> PAVED_DEPLOY_PROVIDER   gitops (default) | argocd
cluster()   -> PAVED_CLUSTER_PROVIDER  gitops (default) | kubernetes
"""

from __future__ import annotations

from portal.providers.base import Cluster, Deployer, GitHost
from portal.providers.registry import CLUSTERS, DEPLOYERS, GIT_HOSTS


def git_host() -> GitHost:
    from django.conf import settings

    host: GitHost = GIT_HOSTS.resolve(settings.PAVED_GIT_PROVIDER)
    return host


def deployer() -> Deployer:
    from django.conf import settings

    chosen: Deployer = DEPLOYERS.resolve(settings.PAVED_DEPLOY_PROVIDER)
    return chosen


def cluster() -> Cluster:
    from django.conf import settings

    chosen: Cluster = CLUSTERS.resolve(settings.PAVED_CLUSTER_PROVIDER)
    return chosen


__all__ = ["cluster", "deployer", "git_host"]
