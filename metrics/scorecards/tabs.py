"""The "Scorecard" tab on catalog component pages (registered from MetricsConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from catalog.models import Entity
from catalog.tabs import EntityTab, register_entity_tab
from metrics.scorecards.queries import component_scorecards


def _context(entity: Entity, user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    return {"entity": entity, "cards": component_scorecards(entity)}


register_entity_tab(
    EntityTab(
        key="scorecard",
        label="Scorecard",
        template="metrics/scorecards/_tab.html",
        context=_context,
        order=30,
        kinds=("Component",),
    )
)
