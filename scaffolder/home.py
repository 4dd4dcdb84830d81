"""The home page's "Start something new" card and templates in global search."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.urls import reverse

from portal.home.queries import HomeSection, register_section
from portal.search.registry import SearchHit, register_search


def _recommended_templates(user: User | AnonymousUser) -> dict[str, Any]:
    from scaffolder.queries import templates_for_list

    rows = [t for t in templates_for_list(user=user) if "recommended" in (t.tags or [])][:4]
    return {"rows": rows}


def _search_templates(query: str, user: User | AnonymousUser, limit: int) -> list[SearchHit]:
    from scaffolder.queries import templates_for_list

    return [
        SearchHit(
            category="template",
            title=template.title or template.name,
            url=reverse("scaffolder:template-wizard", args=[template.namespace, template.name]),
            summary=template.description[:160],
            badge="Template",
        )
        for template in templates_for_list(query, user=user)[:limit]
    ]


register_section(
    HomeSection(
        key="templates",
        title="Start something new",
        order=15,
        template="scaffolder/_home_templates.html",
        loader=_recommended_templates,
        empty_text="No recommended templates yet.",
        empty_action_urlname="scaffolder:template-list",
        empty_action_label="All templates",
    )
)
register_search("templates", "Templates", _search_templates)
