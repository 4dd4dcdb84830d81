"""Badge tones for request statuses (the portal's status_tone covers run statuses)."""

from __future__ import annotations

from django import template

register = template.Library()

_TONES = {
    "checking": "info",
    "awaiting_approval": "warning",
    "provisioning": "info",
    "committed": "info",
    "ready": "success",
    "updating": "info",
    "deleting": "warning",
    "deleted": "neutral",
    "failed": "danger",
    "rejected": "danger",
    "cancelled": "neutral",
}


@register.filter
def request_tone(status: str) -> str:
    return _TONES.get(str(status), "neutral")
