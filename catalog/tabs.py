"""Entity page tabs. Other apps (deployments, infrastructure, costs) add theirs with
`register_entity_tab` from their AppConfig.ready(); the catalog never imports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from catalog.models import Entity

TabContext = Callable[[Entity, AbstractBaseUser | AnonymousUser], dict[str, Any] | None]


@dataclass(frozen=True)
class EntityTab:
    """A tab: `context(entity, user)` returns the template context, or None to hide the tab."""

    key: str
    label: str
    template: str
    context: TabContext
    order: int = 100
    kinds: tuple[str, ...] = ()  # empty: every kind


_TABS: dict[str, EntityTab] = {}


def register_entity_tab(tab: EntityTab) -> None:
    _TABS[tab.key] = tab


def extra_tabs_for(entity: Entity) -> list[EntityTab]:
    return sorted(
        (t for t in _TABS.values() if not t.kinds or entity.kind in t.kinds),
        key=lambda t: (t.order, t.key),
    )
