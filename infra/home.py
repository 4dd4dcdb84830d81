"""The home page's "My requests" card, infrastructure in global search, and demo data."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q
from django.urls import reverse

from infra.demo import load_demo_infra
from infra.queries import my_requests_section, visible_requests
from portal.demo import register_demo_loader
from portal.home.queries import HomeSection, register_section
from portal.search.registry import SearchHit, register_search

register_section(
    HomeSection(
        key="infra",
        title="My requests",
        order=30,
        template="infra/_home_requests.html",
        loader=my_requests_section,
        empty_text="No infrastructure requests yet. Ask for a database, cache, queue or bucket.",
        empty_action_urlname="infra:request-create",
        empty_action_label="Request",
    )
)


def _search_requests(query: str, user: User | AnonymousUser, limit: int) -> list[SearchHit]:
    requests = visible_requests(user).filter(
        Q(name__icontains=query) | Q(namespace__icontains=query) | Q(component_ref__icontains=query)
    )
    return [
        SearchHit(
            category="infrastructure",
            title=f"{req.resource_class.title} {req.namespace}/{req.name}",
            url=reverse("infra:request-detail", args=[req.pk]),
            summary=f"{req.environment} · {req.owner_ref}",
            badge=req.get_status_display(),
        )
        for req in requests.order_by("-created_at")[:limit]
    ]


register_search("infra", "Infrastructure", _search_requests)

register_demo_loader("infra", 30, load_demo_infra)
