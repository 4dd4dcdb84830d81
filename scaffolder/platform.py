"""`platform.*` in template expressions: what the platform team provides to every service.

The values come from settings (docs/configuration.md, "Golden path") and are snapshotted into
`Run.context["platform"]` when a run starts, so a retry renders what the first attempt rendered
even if the settings changed meanwhile.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def platform_context() -> dict[str, Any]:
    provider = (getattr(settings, "PAVED_ONCALL_PROVIDER", "") or "none").strip().lower()
    return {
        # ExternalSecrets in the skeleton read from this ClusterSecretStore.
        "secretStore": settings.PAVED_CLUSTER_SECRET_STORE,
        # HTTPRoutes attach to this Gateway.
        "gateway": {
            "name": settings.PAVED_GATEWAY_NAME,
            "namespace": settings.PAVED_GATEWAY_NAMESPACE,
        },
        # `{name}` / `{environment}` pattern; the `serviceHost` filter fills it in.
        "hostPattern": settings.PAVED_SERVICE_HOST_PATTERN,
        # Canary traffic shifted on the HTTPRoute by Argo Rollouts' Gateway API plugin.
        "rolloutsGatewayPlugin": bool(settings.PAVED_ROLLOUTS_GATEWAY_PLUGIN),
        "onCallProvider": provider or "none",
        # Where Argo Rollouts' canary analysis reads the services' metrics.
        "prometheusUrl": settings.PAVED_PROMETHEUS_URL,
    }
