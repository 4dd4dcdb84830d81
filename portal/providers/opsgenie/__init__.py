"""`opsgenie` on-call provider (Opsgenie REST API v2 over `requests`)."""

from __future__ import annotations

from portal.providers.opsgenie.provider import OpsgenieOnCall
from portal.providers.registry import ON_CALL


@ON_CALL.register("opsgenie")
def make_opsgenie_on_call() -> OpsgenieOnCall:
    return OpsgenieOnCall.from_settings()


__all__ = ["OpsgenieOnCall", "make_opsgenie_on_call"]
