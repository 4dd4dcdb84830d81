"""Map event identifiers (component name, repository, Argo CD app, PagerDuty service) to catalog
components. Resolvers cache per instance so a bulk import does one query per distinct value."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models.functions import Lower

from catalog.models import Entity
from portal.annotations import (
    ARGOCD_APP_NAME,
    GITHUB_PROJECT_SLUG,
    OPSGENIE_TEAM,
    PAGERDUTY_SERVICE_ID,
)

REPO_ANNOTATION = GITHUB_PROJECT_SLUG
ARGOCD_ANNOTATION = ARGOCD_APP_NAME
PAGERDUTY_ANNOTATION = PAGERDUTY_SERVICE_ID
OPSGENIE_ANNOTATION = OPSGENIE_TEAM

BY_ANNOTATION = {
    "repo": REPO_ANNOTATION,
    "argocd": ARGOCD_ANNOTATION,
    "pagerduty": PAGERDUTY_ANNOTATION,
    "opsgenie": OPSGENIE_ANNOTATION,
}


@dataclass
class ComponentResolver:
    """Resolve (how, value) to a component Entity or None; results are cached."""

    _cache: dict[tuple[str, str], Entity | None] = field(default_factory=dict)

    def resolve(self, by: str, value: str) -> Entity | None:
        key = (by, value.lower())
        if key not in self._cache:
            self._cache[key] = self._lookup(by, value)
        return self._cache[key]

    def prime_names(self, names: list[str]) -> None:
        """Fill the cache for many component names with one query."""
        wanted = {n.lower() for n in names} - {v for b, v in self._cache if b == "name"}
        if not wanted:
            return
        found: dict[str, Entity] = {}
        for entity in (
            Entity.objects.filter(kind__iexact="component")
            .annotate(lname=Lower("name"))
            .filter(lname__in=wanted)
            .order_by("-namespace", "-pk")  # so the first namespace/pk wins below
        ):
            found[entity.name.lower()] = entity
        for name in wanted:
            self._cache[("name", name)] = found.get(name)

    def _lookup(self, by: str, value: str) -> Entity | None:
        qs = Entity.objects.filter(kind__iexact="component")
        if by == "name":
            return qs.filter(name__iexact=value).order_by("namespace", "pk").first()
        annotation = BY_ANNOTATION.get(by)
        if annotation is None:
            return None
        found = qs.filter(metadata__annotations__contains={annotation: value}).first()
        if found is None and by == "repo":  # repository slugs are case-insensitive on GitHub
            found = qs.filter(**{f"metadata__annotations__{annotation}__iexact": value}).first()
        return found


def component_key_for(entity: Entity | None, fallback: str) -> str:
    """The key every normalized row is grouped by: the component's name, else the raw value."""
    return (entity.name if entity is not None else fallback).lower()
