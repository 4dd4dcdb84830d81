"""The home page's "My runs" card and runs in global search."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.urls import reverse

from portal.home.queries import HomeSection, register_section
from portal.search.registry import SearchHit, register_search
from runs.queries import runs_for_list, search_runs


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
            url=reverse("runs:run-detail", args=[run.pk]),
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
        template="runs/_home_runs.html",
        loader=_my_runs,
        empty_text="You have not started anything yet. Create a service from a template.",
        empty_action_urlname="scaffolder:template-list",
        empty_action_label="Create",
    )
)
register_search("runs", "Runs", _search_runs)
