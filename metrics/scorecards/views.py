"""The scorecards page: teams and components ranked, filterable, with the trend."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from metrics.scorecards.queries import page_context
from portal.htmx import render_page


@require_GET
def scorecards(request: HttpRequest) -> HttpResponse:
    ctx = page_context(
        scorecard_id=request.GET.get("scorecard", ""),
        team=request.GET.get("team", "").strip(),
        level=request.GET.get("level", "").strip(),
        q=request.GET.get("q", "").strip()[:200],
        page=request.GET.get("page", "1"),
    )
    return render_page(request, "metrics/scorecards/page.html", ctx, partial="scorecards-body")
