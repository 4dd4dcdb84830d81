"""`pagerduty` on-call provider (PagerDuty REST API v2 over `requests`)."""

from __future__ import annotations

from portal.providers.pagerduty.provider import PagerDutyOnCall
from portal.providers.registry import ON_CALL


@ON_CALL.register("pagerduty")
def make_pagerduty_on_call() -> PagerDutyOnCall:
    return PagerDutyOnCall.from_settings()


__all__ = ["PagerDutyOnCall", "make_pagerduty_on_call"]
