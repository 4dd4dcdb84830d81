"""The "Deployments & metrics" tab on catalog component pages (registered in MetricsConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from catalog.models import Entity
from catalog.tabs import EntityTab, register_entity_tab
from metrics.component_tab import component_dora_summary


def _dora_context(entity: Entity, user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    return {"dora": component_dora_summary(entity)}


register_entity_tab(
    EntityTab(
        key="deployments",
        label="Deployments & metrics",
        template="metrics/_component_tab.html",
        context=_dora_context,
        order=20,
        kinds=("Component",),
    )
)
