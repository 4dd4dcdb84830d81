"""External systems behind small interfaces (see base.py), chosen by settings at call time.

git_host()  -> PAVED_GIT_PROVIDER      local (default) | github | gitlab
git_host_named("gitlab") -> that host, whatever the default (publish:gitlab names its host)
deployer()  -> PAVED_DEPLOY_PROVIDER   gitops (default) | argocd
cluster()   -> PAVED_CLUSTER_PROVIDER  gitops (default) | kubernetes
on_call()   -> PAVED_ONCALL_PROVIDER   none (default: None) | pagerduty | opsgenie
"""

from __future__ import annotations

from portal.providers.base import Cluster, Deployer, GitHost, OnCall
from portal.providers.registry import CLUSTERS, DEPLOYERS, GIT_HOSTS, ON_CALL


def git_host() -> GitHost:
    from django.conf import settings

    host: GitHost = GIT_HOSTS.resolve(settings.PAVED_GIT_PROVIDER)
    return host


def git_host_named(name: str) -> GitHost:
    """The git host a step names itself (publish:gitlab), or the configured one for ""."""
    if not name:
        return git_host()
    host: GitHost = GIT_HOSTS.resolve(name)
    return host


def deployer() -> Deployer:
    from django.conf import settings

    chosen: Deployer = DEPLOYERS.resolve(settings.PAVED_DEPLOY_PROVIDER)
    return chosen


def cluster() -> Cluster:
    from django.conf import settings

    chosen: Cluster = CLUSTERS.resolve(settings.PAVED_CLUSTER_PROVIDER)
    return chosen


def on_call() -> OnCall | None:
    """The configured on-call provider, or None when PAVED_ONCALL_PROVIDER is unset or "none"
    (then steps record the owning team as on-call and create no rotation)."""
    from django.conf import settings

    name = (getattr(settings, "PAVED_ONCALL_PROVIDER", "") or "none").strip().lower()
    if name == "none":
        return None
    chosen: OnCall = ON_CALL.resolve(name)
    return chosen


__all__ = ["cluster", "deployer", "git_host", "git_host_named", "on_call"]
