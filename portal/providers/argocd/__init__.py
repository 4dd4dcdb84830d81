"""`argocd` deployer (Argo CD REST API with a bearer token)."""

from __future__ import annotations

from portal.providers.argocd.provider import ArgoCDDeployer
from portal.providers.registry import DEPLOYERS


@DEPLOYERS.register("argocd")
def make_argocd_deployer() -> ArgoCDDeployer:
    return ArgoCDDeployer()


__all__ = ["ArgoCDDeployer", "make_argocd_deployer"]
