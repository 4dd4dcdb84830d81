"""`{{ ref|ref_name }}`: a catalog reference shown as its display name (the ref stays in a
title or secondary text)."""

from __future__ import annotations

from django import template

from catalog import names

register = template.Library()


@register.filter
def ref_name(ref: object) -> str:
    return names.ref_name(str(ref or ""))
