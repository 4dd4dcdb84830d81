"""Entity page tabs: a template's rollout, a component's template and upgrade."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from catalog.models import Entity
from catalog.tabs import EntityTab, register_entity_tab
from scaffolder.upgrades.queries import (
    current_upgrade,
    provenance_for_entity,
    repository_of,
    rollout,
)
from scaffolder.upgrades.services import latest_version, may_adopt, may_upgrade


def _rollout_context(entity: Entity, user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    return {"rollout": rollout(entity.ref), "is_admin": bool(getattr(user, "is_staff", False))}


def _component_context(
    entity: Entity, user: AbstractBaseUser | AnonymousUser
) -> dict[str, Any] | None:
    provenance = provenance_for_entity(entity)
    if provenance is None:
        # Not made by Paved: its team may link it to a template ("adopt").
        if not repository_of(entity) or not may_adopt(user, entity):
            return None
        return {"provenance": None, "entity": entity}
    latest = latest_version(provenance.template_ref)
    newer = latest if latest and latest.version > provenance.version.version else None
    return {
        "provenance": provenance,
        "newer": newer,
        "upgrade": current_upgrade(provenance, newer),
        "may_upgrade": may_upgrade(user, provenance),
        "template_name": provenance.template_ref.rsplit("/", 1)[-1],
    }


register_entity_tab(
    EntityTab(
        key="rollout",
        label="Rollout",
        template="scaffolder/upgrades/_template_rollout.html",
        context=_rollout_context,
        order=60,
        kinds=("Template",),
    )
)
register_entity_tab(
    EntityTab(
        key="template",
        label="Template",
        template="scaffolder/upgrades/_component_template.html",
        context=_component_context,
        order=70,
        kinds=("Component",),
    )
)
