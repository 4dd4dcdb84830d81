"""Small template filters used across pages (status badges, durations)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template

from portal.lib.links import safe_href as _safe_href

register = template.Library()

_STATUS_TONES = {
    "pending": "neutral",
    "queued": "neutral",
    "running": "info",
    "succeeded": "success",
    "completed": "success",
    "skipped": "neutral",
    "failed": "danger",
    "cancelled": "warning",
    "approved": "success",
    "rejected": "danger",
    "waiting": "warning",
}


@register.filter
def status_tone(status: str) -> str:
    return _STATUS_TONES.get(str(status).lower(), "neutral")


@register.filter
def duration(value: timedelta | float | None) -> str:
    """Render a duration as 850 ms, 12.3 s, 4 min 05 s or 2 h 03 min."""
    if value is None:
        return ""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


@register.simple_tag
def elapsed(start: datetime | None, end: datetime | None) -> str:
    if not start:
        return ""
    from django.utils import timezone

    return duration((end or timezone.now()) - start)


@register.filter
def safe_href(url: object) -> str:
    """The URL when it may be an href (http, https, mailto, or a path on this portal), else "":
    a `javascript:` link stored before the catalog refused them is shown as text, not a link."""
    return _safe_href(url)
