"""Link rows that arrived before their component was in the catalog (or annotated)."""

from __future__ import annotations

from datetime import date

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q

from catalog.models import Entity
from metrics.attribution import recompute_components
from metrics.batch import day, mark_dirty
from metrics.linking import ComponentResolver
from metrics.models import Change, Deployment, Incident, RawEvent, RawEventStatus


def relink_unlinked(*, actor: object = None) -> int:
    """Try again to link rows that arrived before their component was in the catalog (or
    annotated). Returns how many rows were linked."""
    resolver = ComponentResolver()
    linked = 0
    dirty: set[tuple[str, str, date]] = set()
    touched: set[str] = set()
    with transaction.atomic():
        for model in (Deployment, Incident, Change):
            for row in model.objects.filter(component__isnull=True):
                hint = (row.extra if hasattr(row, "extra") else {}).get("link") or {}
                value = hint.get("value", row.component_name)
                # Commits keep no hint; a "/" never occurs in a component name, so such a
                # name is the repository (owner/repo) the push came from.
                by = hint.get("by") or ("repo" if "/" in value else "name")
                entity = resolver.resolve(by, value)
                if entity is None:
                    continue
                old_key = row.component_key
                row.component = entity
                row.component_name = entity.name
                row.component_key = entity.name.lower()
                try:
                    with transaction.atomic():
                        row.save()
                except IntegrityError:
                    continue
                linked += 1
                touched.update({old_key, row.component_key})
                if isinstance(row, Deployment):
                    dirty.add((old_key, row.environment, day(row.finished_at)))
                    dirty.add((row.component_key, row.environment, day(row.finished_at)))
        RawEvent.objects.filter(status=RawEventStatus.UNLINKED).filter(
            Q(deployment__component__isnull=False)
        ).update(status=RawEventStatus.PROCESSED)
        recompute_components(touched)
        mark_dirty(dirty)
    return linked


CATALOG_STAMP_KEY = "paved:metrics:relinked-at-catalog"


def catalog_stamp() -> str:
    """Changes whenever a catalog entity is added, changed or removed."""
    summary = Entity.objects.aggregate(n=Count("pk"), latest=Max("updated_at"))
    return f"{summary['n']}:{summary['latest']}"


def relink_if_catalog_changed() -> int:
    """Run `relink_unlinked` only when the catalog moved since the last time (cheap check), so
    the beat job costs one query while nothing new can match."""
    stamp = catalog_stamp()
    if cache.get(CATALOG_STAMP_KEY) == stamp:
        return 0
    linked = relink_unlinked()
    cache.set(CATALOG_STAMP_KEY, stamp, timeout=None)
    return linked
