"""Global search: each app registers a function that returns its hits for a query."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User


@dataclass(frozen=True)
class SearchHit:
    """One search result: what it is, its title, a line of context and where it lives."""

    category: str
    title: str
    url: str
    summary: str = ""
    badge: str = ""


SearchProvider = Callable[[str, User | AnonymousUser, int], list[SearchHit]]
_PROVIDERS: dict[str, tuple[int, str, SearchProvider]] = {}


def register_search(key: str, label: str, provider: SearchProvider, *, order: int = 100) -> None:
    """Add a group of results to global search; lower `order` groups are listed first."""
    _PROVIDERS[key] = (order, label, provider)


def search_everything(
    query: str, user: User | AnonymousUser, *, limit: int = 10
) -> list[tuple[str, list[SearchHit]]]:
    """Return (label, hits) per registered provider that found something."""
    results = []
    for _, label, provider in sorted(_PROVIDERS.values(), key=lambda p: p[0]):
        hits = provider(query, user, limit)
        if hits:
            results.append((label, hits))
    return results
