"""Show a newly created API or integration token exactly once, on the response to "Save".

The plain token is rendered into that response and nowhere else: not into Django's messages
(a signed but readable cookie), not behind a redirect, not into any row. Only its hash is kept.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

_SHOWN_ONCE = "_paved_shown_once"


def remember_plain_token(obj: Any, token: str) -> None:
    """Keep the plain value on the unsaved-in-the-database attribute until the response."""
    setattr(obj, _SHOWN_ONCE, token)


def token_created_response(
    model_admin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    obj: Any,
    *,
    usage: str,
) -> HttpResponse | None:
    """The page that shows the token once; None when `obj` carries no new token."""
    token = getattr(obj, _SHOWN_ONCE, "")
    if not token:
        return None
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "title": f"Token for {obj}",
        "subtitle": None,
        "token": token,
        "usage": usage,
        "object": obj,
        "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
    }
    response = TemplateResponse(request, "admin/token_created.html", context)
    # Never kept by a browser or proxy cache: the page is the only place the token ever appears.
    add_never_cache_headers(response)
    response["Cache-Control"] += ", no-store"
    return response
