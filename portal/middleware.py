"""Show a friendly page, not a traceback, while the database is away."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error("database unavailable while serving %s: %s", request.path, exception)
        body = render_to_string("503.html", {"reason": "database"})
        response = HttpResponse(body, status=503)
        response["Retry-After"] = "5"
        return response


def _database_error_in(exc: BaseException | None) -> bool:
    """True when the exception, or one it happened while handling, is a database outage."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OperationalError | InterfaceError):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database outage met outside a view (session, auth middleware) gets 503.

    Django calls this inside its `except` block, so the exception is in sys.exc_info().
    """
    if _database_error_in(sys.exc_info()[1]):
        body = render_to_string("503.html", {"reason": "database"})
        response = HttpResponse(body, status=503)
        response["Retry-After"] = "5"
        return response
    return HttpResponseServerError(render_to_string("500.html"))


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: JSON in Backstage's error envelope under /api/, the usual page elsewhere.
    Views under /api/ answer their own JSON 404s; this covers URLs no route matches."""
    if request.path.startswith("/api/"):
        message = f"no API endpoint at {request.path}"
        return JsonResponse({"error": {"name": "NotFoundError", "message": message}}, status=404)
    return defaults.page_not_found(request, exception)
