"""The catalog entity page's Infrastructure and Costs tabs, registered from InfraConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from catalog.models import Entity
from catalog.tabs import EntityTab, register_entity_tab
from infra.queries import component_infra_summary


def _infra_context(entity: Entity, user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    return {"infra": component_infra_summary(entity)}


register_entity_tab(
    EntityTab(
        key="infrastructure",
        label="Infrastructure",
        template="infra/_component_tab.html",
        context=_infra_context,
        order=30,
        kinds=("Component", "Resource"),
    )
)
register_entity_tab(
    EntityTab(
        key="costs",
        label="Costs",
        template="infra/_component_costs.html",
        context=_infra_context,
        order=40,
        kinds=("Component", "Resource"),
    )
)
