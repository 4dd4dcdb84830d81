"""The home page's "My runs" card and runs in global search."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.urls import reverse

from portal.home.queries import HomeSection, register_section
from portal.search.registry import SearchHit, register_search
from scaffolder.queries import runs_for_list, search_runs


def _my_runs(user: User | AnonymousUser) -> dict[str, Any]:
    if not user.is_authenticated:
        return {"rows": []}
    return {"rows": list(runs_for_list(user, mine=True)[:6])}


def _search_runs(query: str, user: User | AnonymousUser, limit: int) -> list[SearchHit]:
    runs = search_runs(user, query)[:limit]
    return [
        SearchHit(
            category="run",
            title=f"#{run.pk} {run.title}",
            url=reverse("scaffolder:run-detail", args=[run.pk]),
            summary=f"started by {run.requested_by or 'the platform'}",
            badge=run.get_status_display(),
        )
        for run in runs
    ]


register_section(
    HomeSection(
        key="runs",
        title="My runs",
        order=20,
        template="scaffolder/_home_runs.html",
        loader=_my_runs,
        empty_text="You have not started anything yet. Create a service from a template.",
        empty_action_urlname="scaffolder:template-list",
        empty_action_label="Create",
    )
)
register_search("runs", "Runs", _search_runs)


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
