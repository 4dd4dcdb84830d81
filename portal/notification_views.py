"""The notification list and the count in the navigation."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from portal.htmx import render_page
from portal.models import Notification
from portal.notifications import mark_all_read, unread_for


@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    rows = Notification.objects.filter(user_id=request.user.pk or 0).order_by("-created_at", "-id")
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render_page(
        request,
        "portal/notifications.html",
        {"page": page, "unread": unread_for(request.user).count(), "nav_section": ""},
    )


@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    mark_all_read(request.user)  # type: ignore[arg-type]
    return redirect("notifications")


@require_GET
def notification_count(request: HttpRequest) -> HttpResponse:
    """The badge in the navigation, loaded by htmx after the page (no query on every page)."""
    count = unread_for(request.user).count()
    return render_page(
        request, "portal/notifications.html", {"count": count}, partial="count-badge"
    )
