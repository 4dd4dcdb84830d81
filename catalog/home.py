"""The home page's "My services" card and the catalog in global search."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.urls import reverse

from catalog.models import Entity
from catalog.queries import LIST_COLUMNS, my_entities, owned_with_errors, search_filter
from catalog.services import catalog_identity_notice
from portal.home.queries import HomeSection, register_notice, register_section
from portal.search.registry import SearchHit, register_search


def _my_services(user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    if not user.is_authenticated:
        return {"rows": []}
    # Processing errors and orphans are shown to their owners here, not hidden in a log.
    problems = list(owned_with_errors(user)[:5])
    # The home template passes only `rows` to our include, so problems ride along on it.
    rows = _Rows(my_entities(user, limit=8) or problems)
    rows.problems = problems
    return {"rows": rows}


class _Rows(list[Entity]):
    problems: list[Entity]


def _search_catalog(
    query: str, user: AbstractBaseUser | AnonymousUser, limit: int
) -> list[SearchHit]:
    qs = search_filter(Entity.objects.only(*LIST_COLUMNS), query).order_by("kind", "name")
    return [
        SearchHit(
            category="entity",
            title=e.display_name,
            url=reverse("catalog:entity-detail", args=[e.namespace, e.kind.lower(), e.name]),
            summary=e.description[:140],
            badge=e.kind,
        )
        for e in qs[:limit]
    ]


def register() -> None:
    register_section(
        HomeSection(
            key="services",
            title="My services",
            order=10,
            template="catalog/_home_services.html",
            loader=_my_services,
            empty_text="Your teams own nothing in the catalog yet. Register a component.",
            empty_action_urlname="catalog:register",
            empty_action_label="Register existing component",
        )
    )
    register_search("catalog", "Catalog", _search_catalog)
    register_notice("catalog-identity", catalog_identity_notice)
