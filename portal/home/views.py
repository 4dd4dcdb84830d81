"""Home dashboard ("my services, my runs, my requests") and the health endpoints."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.health import broker_problem, database_problem
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


@login_not_required
@never_cache
@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """Ready to serve: the database and the Celery broker both answer."""
    problems = [p for p in (database_problem(), broker_problem()) if p]
    body = {
        "status": "unavailable" if problems else "ok",
        "database": "embedded" if settings.PAVED_EMBEDDED_DATABASE else "external",
        "broker": "embedded" if settings.PAVED_EMBEDDED_BROKER else "external",
        "problems": problems,
    }
    if problems:
        logger.warning("readiness check failed: %s", "; ".join(problems))
    return JsonResponse(body, status=503 if problems else 200)
