"""Reads for the upgrade pages: a template's rollout, a component's provenance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog.models import Entity
from portal.annotations import is_project_slug, repository_slug
from scaffolder.models import ServiceProvenance, TemplateUpgrade, TemplateVersion, UpgradeState
from scaffolder.upgrades.services import latest_version


@dataclass
class RolloutRow:
    provenance: ServiceProvenance
    upgrade: TemplateUpgrade | None
    state: str  # an UpgradeState value
    label: str


def _state(provenance: ServiceProvenance, upgrade: TemplateUpgrade | None, latest: int) -> str:
    if provenance.version.version >= latest:
        return UpgradeState.UP_TO_DATE
    if upgrade is None:
        return "behind"
    return str(upgrade.state)


def rollout(template_ref: str) -> dict[str, Any]:
    """The services made from a template, by version, with their upgrade state (two queries)."""
    latest = latest_version(template_ref)
    services = list(
        ServiceProvenance.objects.filter(template_ref=template_ref)
        .select_related("version")
        .order_by("-version__version", "repository")
    )
    upgrades: dict[int, TemplateUpgrade] = {}
    for upgrade in TemplateUpgrade.objects.filter(
        provenance__in=services, to_version=latest
    ).order_by("created_at"):
        upgrades[upgrade.provenance_id] = upgrade
    number = latest.version if latest else 0
    labels = dict(UpgradeState.choices) | {"behind": "Behind"}
    rows = []
    for provenance in services:
        found = upgrades.get(provenance.pk)
        state = _state(provenance, found, number)
        rows.append(RolloutRow(provenance, found, state, labels[state]))
    declined = sum(1 for row in rows if row.state == UpgradeState.DECLINED)
    by_version: dict[int, int] = {}
    for provenance in services:
        by_version[provenance.version.version] = by_version.get(provenance.version.version, 0) + 1
    return {
        "latest": latest,
        "rows": rows,
        "by_version": sorted(by_version.items(), reverse=True),
        "behind": sum(1 for row in rows if row.state != UpgradeState.UP_TO_DATE),
        # "Roll out to all behind" leaves these alone; selecting one asks its team again.
        "declined": declined,
        "to_roll_out": sum(1 for row in rows if row.state != UpgradeState.UP_TO_DATE) - declined,
    }


def repository_of(entity: Entity) -> str:
    """The component's repository (`<host>/project-slug`), lower case, or ""."""
    return repository_slug(entity.metadata).lower()


def adoptable_templates() -> list[TemplateVersion]:
    """The latest version of every template, for the adopt form."""
    latest: dict[str, TemplateVersion] = {}
    for version in TemplateVersion.objects.order_by("ref", "-version").only("pk", "ref", "version"):
        latest.setdefault(version.ref, version)
    return list(latest.values())


def provenance_for_entity(entity: Entity) -> ServiceProvenance | None:
    """The provenance of a component: by its catalog ref, else by its repository slug."""
    found = (
        ServiceProvenance.objects.select_related("version").filter(entity_ref=entity.ref).first()
    )
    if found is not None:
        return found
    annotations = (entity.metadata or {}).get("annotations") or {}
    slugs = [str(v).lower() for k, v in annotations.items() if is_project_slug(k)]
    return (
        ServiceProvenance.objects.select_related("version").filter(repository__in=slugs).first()
        if slugs
        else None
    )


def current_upgrade(
    provenance: ServiceProvenance, to_version: TemplateVersion | None
) -> TemplateUpgrade | None:
    if to_version is None:
        return None
    return TemplateUpgrade.objects.filter(provenance=provenance, to_version=to_version).first()
