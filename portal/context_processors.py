from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def paved(request: HttpRequest) -> dict[str, Any]:
    return {
        "PAVED_LOCAL_LOGIN": settings.PAVED_LOCAL_LOGIN,
        "PAVED_DEBUG": settings.DEBUG,
        "PAVED_DEMO": settings.DEBUG or settings.PAVED_DEMO,
        "nav_section": request.resolver_match.namespace if request.resolver_match else "",
    }
