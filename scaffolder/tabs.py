"""The catalog component page's Environments tab (service day 2), registered from
ScaffolderConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from catalog.models import Entity
from catalog.tabs import EntityTab, register_entity_tab
from runs.models import Run
from scaffolder.day2 import ENVIRONMENTS, environments_of, may_change_service


def _environments_context(
    entity: Entity, user: AbstractBaseUser | AnonymousUser
) -> dict[str, Any] | None:
    if entity.spec_type not in ("service", "website"):
        return None
    deployed = environments_of(entity)
    may_change = may_change_service(user, entity)  # type: ignore[arg-type]
    return {
        "deployed": deployed,
        "addable": [e for e in ENVIRONMENTS if e not in deployed],
        "may_change": may_change,
        "day2_runs": list(
            Run.objects.visible_to(user)
            .filter(subject=f"catalog.day2:{entity.ref}")
            .order_by("-created_at", "-id")[:10]
        ),
    }


register_entity_tab(
    EntityTab(
        key="environments",
        label="Environments",
        template="scaffolder/_component_environments.html",
        context=_environments_context,
        order=25,
        kinds=("Component",),
    )
)
