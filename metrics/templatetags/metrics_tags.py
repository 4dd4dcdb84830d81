"""Formatting filters for the metrics pages."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

BAND_TONES = {"elite": "success", "high": "info", "medium": "warning", "low": "danger"}


@register.filter
def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


@register.filter
def hours(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 60:.0f} min"
    if value < 48:
        return f"{value:.1f} h"
    return f"{value / 24:.1f} d"


@register.filter
def num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


@register.filter
def band_tone(band: str | None) -> str:
    return BAND_TONES.get(band or "", "")


@register.filter
def get(mapping: dict[str, Any] | None, key: str) -> Any:
    return (mapping or {}).get(key)
