"""The catalog entity page's Infrastructure and Costs tabs, registered from InfraConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from catalog.models import Entity
from catalog.tabs import EntityTab, register_entity_tab
from infra.queries import component_infra_summary, visible_requests


def _infra_context(entity: Entity, user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    infra = component_infra_summary(entity)
    # The inventory is as public as the catalog; a request's page is its team's, so only the
    # rows the user may open are links.
    infra["openable"] = set(
        visible_requests(user).filter(component=entity).values_list("pk", flat=True)  # type: ignore[arg-type]
    )
    return {"infra": infra}


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
