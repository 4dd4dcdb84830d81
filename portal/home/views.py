"""Home dashboard ("my services, my runs, my requests") and the health endpoints."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.home.queries import home_sections
from portal.htmx import render_page

logger = logging.getLogger(__name__)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render_page(request, "portal/home.html", home_sections(request.user))


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers fetch /favicon.ico by themselves (Django's admin pages link none): the icon,
    not a 404 in the console."""
    return HttpResponsePermanentRedirect(static("paved/favicon.svg"))


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive and answering; says nothing about its dependencies."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"database unreachable: {exc.__class__.__name__}"
    return None


def _check_broker() -> str | None:
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"broker unreachable: {exc.__class__.__name__}"
    return None


@login_not_required
@never_cache
@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """Ready to serve: the database and the Celery broker both answer."""
    problems = [p for p in (_check_database(), _check_broker()) if p]
    body = {
        "status": "unavailable" if problems else "ok",
        "database": "embedded" if settings.PAVED_EMBEDDED_DATABASE else "external",
        "broker": "embedded" if settings.PAVED_EMBEDDED_BROKER else "external",
        "problems": problems,
    }
    if problems:
        logger.warning("readiness check failed: %s", "; ".join(problems))
    return JsonResponse(body, status=503 if problems else 200)
