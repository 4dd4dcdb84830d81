"""Global search: each app registers a function that returns its hits for a query."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


@dataclass(frozen=True)
class SearchHit:
    """One search result: what it is, its title, a line of context and where it lives."""

    category: str
    title: str
    url: str
    summary: str = ""
    badge: str = ""


SearchProvider = Callable[[str, AbstractBaseUser | AnonymousUser, int], list[SearchHit]]
_PROVIDERS: dict[str, tuple[str, SearchProvider]] = {}


def register_search(key: str, label: str, provider: SearchProvider) -> None:
    _PROVIDERS[key] = (label, provider)


def search_everything(
    query: str, user: AbstractBaseUser | AnonymousUser, *, limit: int = 10
) -> list[tuple[str, list[SearchHit]]]:
    """Return (label, hits) per registered provider that found something."""
    results = []
    for label, provider in _PROVIDERS.values():
        hits = provider(query, user, limit)
        if hits:
            results.append((label, hits))
    return results
