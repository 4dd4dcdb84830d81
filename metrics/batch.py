"""The state one ingest batch shares between its steps (ingestion, deployments, attribution):
the incoming event, the component resolver and the days whose rollups must be redone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from catalog.models import Entity
from metrics.events import EventIn
from metrics.linking import ComponentResolver, component_key_for
from metrics.models import Deployment
from portal.lib.bulk import pg_execute

PRODUCTION = "production"
GENERIC_SOURCE = "api"


@dataclass
class Incoming:
    """One normalized event plus where it came from and how to find its component."""

    source: str
    delivery_id: str
    event: EventIn
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    link_by: str = "name"  # name | repo | argocd | pagerduty | opsgenie
    event_type: str = ""
    text: str | None = None  # the JSON text `payload` was parsed from, stored as it is


def day(value: datetime) -> date:
    return value.astimezone(UTC).date()


@dataclass(slots=True)
class Dep:
    """What the later steps of a batch need of a deployment; plain, because a batch holds
    thousands of them and model instances cost more than their COPY."""

    pk: int
    external_id: str
    component_key: str
    environment: str
    status: str
    started_at: datetime | None
    finished_at: datetime
    commit_sha: str
    is_rollback: bool
    is_hotfix: bool

    @classmethod
    def of(cls, d: Deployment) -> Dep:
        return cls(
            d.pk,
            d.external_id,
            d.component_key,
            d.environment,
            d.status,
            d.started_at,
            d.finished_at,
            d.commit_sha,
            d.is_rollback,
            d.is_hotfix,
        )


class Batch:
    """State shared by the steps of one ingest batch."""

    def __init__(self) -> None:
        self.resolver = ComponentResolver()
        self.dirty: set[tuple[str, str, date]] = set()
        self.recompute: set[str] = set()

    def prime(self, items: list[Incoming]) -> None:
        """Resolve every component name of the batch in one query."""
        self.resolver.prime_names([i.event.component for i in items if i.link_by == "name"])

    def component(self, item: Incoming, value: str) -> tuple[Entity | None, str, str]:
        entity = self.resolver.resolve(item.link_by, value)
        name = entity.name if entity is not None else value
        return entity, name, component_key_for(entity, value)

    def mark(self, key: str, env: str, when: datetime | None) -> None:
        if when is not None:
            self.dirty.add((key, env, day(when)))


def with_link_hint(item: Incoming, extra: dict[str, Any]) -> dict[str, Any]:
    """Remember how an event named its component (repository, Argo CD app, PagerDuty service)
    so that relinking can look it up the same way once the catalog knows it."""
    if item.link_by == "name":
        return extra
    return {**extra, "link": {"by": item.link_by, "value": item.event.component}}


def mark_dirty(dirty: set[tuple[str, str, date]]) -> None:
    """Queue (component, environment, day) rollups for the next refresh."""
    if not dirty:
        return
    ks, es, ds = zip(*dirty, strict=True)
    pg_execute(
        "INSERT INTO metrics_dirtyday (component_key, environment, day) "
        "SELECT * FROM unnest(%s::text[], %s::text[], %s::date[]) "
        "ON CONFLICT DO NOTHING",
        [list(ks), list(es), list(ds)],
    )
