from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from portal.htmx import render_page
from portal.search.registry import search_everything

MAX_QUERY_LENGTH = 200


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    results = search_everything(query, request.user) if query else []
    total = sum(len(hits) for _, hits in results)
    return render_page(
        request,
        "portal/search.html",
        {"query": query, "results": results, "total": total},
        partial="search-results",
    )
