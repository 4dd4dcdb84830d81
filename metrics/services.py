"""Writes: ingest delivery events (one path for webhooks, the API, the import command and the
benchmark), attribute incidents and rollbacks, relink, tokens, survey answers.

Ingestion is batch-oriented: one event is a batch of one. Each batch runs in one transaction,
so a failed batch leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from catalog.models import Entity
from metrics.bulk import allocate_ids, copy_insert, copy_rows
from metrics.events import (
    ChangeIn,
    DeploymentIn,
    EventIn,
    IncidentIn,
    InvalidEvent,
    contains_nul,
    delivery_key,
    loads_storable,
    parse_event,
)
from metrics.linking import ComponentResolver, component_key_for
from metrics.models import (
    Change,
    Deployment,
    DeploymentCommit,
    DeploymentStatus,
    DirtyDay,
    Incident,
    IntegrationToken,
    RawEvent,
    RawEventStatus,
)

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


@dataclass
class IngestResult:
    loaded: int = 0
    duplicate: int = 0
    invalid: list[tuple[str, str]] = field(default_factory=list)
    unlinked: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "loaded": self.loaded,
            "duplicate": self.duplicate,
            "invalid": len(self.invalid),
            "invalid_reasons": [{"line": w, "reason": r} for w, r in self.invalid],
            "unlinked": self.unlinked,
        }


def _day(value: datetime) -> date:
    return value.astimezone(UTC).date()


class _Batch:
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
            self.dirty.add((key, env, _day(when)))


# --- Generic events (API and import) --------------------------------------------------------


def ingest_generic(
    lines: Iterable[tuple[str, str]], *, source: str = GENERIC_SOURCE
) -> IngestResult:
    """Parse and ingest generic events; `lines` yields (where, json_text) pairs.

    Invalid lines are reported (and kept as RawEvent rows for inspection) and never stop the
    valid ones. Changes are loaded before deployments, and deployments before incidents, so an
    import file's order does not matter.
    """
    result = IngestResult()
    valid: list[Incoming] = []
    invalid_raw: list[RawEvent] = []
    for where, text in lines:
        payload: Any = None
        try:
            payload = loads_storable(text)
            event = parse_event(payload)
        except (ValueError, InvalidEvent) as exc:
            reason = str(exc) if isinstance(exc, InvalidEvent) else f"not valid JSON: {exc}"
            result.invalid.append((where, reason))
            digest = hashlib.sha256(text.encode()).hexdigest()
            invalid_raw.append(
                RawEvent(
                    source=source,
                    delivery_id=f"invalid:{digest}",
                    event_type=str(payload.get("type", ""))[:64]
                    if isinstance(payload, dict)
                    else "",
                    payload=payload if isinstance(payload, (dict, list)) else None,
                    body=""
                    if isinstance(payload, (dict, list))
                    else text[:10000].replace("\x00", "\ufffd"),
                    status=RawEventStatus.INVALID,
                    error=reason,
                )
            )
            continue
        valid.append(
            Incoming(
                source=source,
                delivery_id=delivery_key(event),
                event=event,
                payload=payload,
                event_type=str(payload.get("type")),
            )
        )
    if invalid_raw:
        RawEvent.objects.bulk_create(invalid_raw, ignore_conflicts=True)
    order = {ChangeIn: 0, DeploymentIn: 1, IncidentIn: 2}
    valid.sort(key=lambda i: order[type(i.event)])
    for start in range(0, len(valid), 5000):
        loaded, dup, unlinked = ingest(valid[start : start + 5000])
        result.loaded += loaded
        result.duplicate += dup
        result.unlinked += unlinked
    return result


def record_invalid(
    *, source: str, delivery_id: str, body: str, payload: Any, headers: dict[str, str], reason: str
) -> None:
    """Keep a malformed webhook delivery for inspection (idempotent by delivery id)."""
    body = body.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL
    if contains_nul(payload):
        payload = None
    RawEvent.objects.get_or_create(
        source=source,
        delivery_id=delivery_id or f"invalid:{hashlib.sha256(body.encode()).hexdigest()}",
        defaults={
            "payload": payload if isinstance(payload, (dict, list)) else None,
            "body": "" if isinstance(payload, (dict, list)) else body[:10000],
            "headers": headers,
            "status": RawEventStatus.INVALID,
            "error": reason,
        },
    )


def record_ignored(*, source: str, delivery_id: str, payload: Any, event_type: str) -> bool:
    """Store a verified delivery that carries no delivery event; False when it is a replay."""
    _, created = RawEvent.objects.get_or_create(
        source=source,
        delivery_id=delivery_id,
        defaults={"payload": payload, "event_type": event_type, "status": RawEventStatus.IGNORED},
    )
    return created


# --- The batch core ---------------------------------------------------------------------------


def ingest(items: list[Incoming]) -> tuple[int, int, int]:
    """Store and normalize a batch; returns (loaded, duplicates, unlinked)."""
    if not items:
        return 0, 0, 0
    seen: set[tuple[str, str]] = set()
    unique: list[Incoming] = []
    duplicates = 0
    for item in items:
        k = (item.source, item.delivery_id)
        if k in seen:
            duplicates += 1
            continue
        seen.add(k)
        unique.append(item)
    by_source: dict[str, list[str]] = defaultdict(list)
    for item in unique:
        by_source[item.source].append(item.delivery_id)
    existing: set[tuple[str, str]] = set()
    for src, ids in by_source.items():
        existing.update(
            RawEvent.objects.filter(source=src, delivery_id__in=ids).values_list(
                "source", "delivery_id"
            )
        )
    fresh = [i for i in unique if (i.source, i.delivery_id) not in existing]
    duplicates += len(unique) - len(fresh)
    if not fresh:
        return 0, duplicates, 0
    try:
        with transaction.atomic():
            unlinked = _ingest_fresh(fresh)
    except IntegrityError:
        # A concurrent delivery of the same event won the race: fall back to one at a time.
        if len(fresh) == 1:
            return 0, duplicates + 1, 0
        loaded = unlinked = 0
        for item in fresh:
            lo, du, un = ingest([item])
            loaded, duplicates, unlinked = loaded + lo, duplicates + du, unlinked + un
        return loaded, duplicates, unlinked
    return len(fresh), duplicates, unlinked


def _ingest_fresh(items: list[Incoming]) -> int:
    batch = _Batch()
    raws = [
        RawEvent(
            source=i.source,
            delivery_id=i.delivery_id,
            event_type=i.event_type or type(i.event).__name__.removesuffix("In").lower(),
            payload=i.payload,
            headers=i.headers,
        )
        for i in items
    ]
    copy_insert(RawEvent, raws)
    batch.prime(items)
    raw_by_item = {id(i): r for i, r in zip(items, raws, strict=True)}
    unlinked_raw: list[int] = []
    changes = [i for i in items if isinstance(i.event, ChangeIn)]
    deployments = [i for i in items if isinstance(i.event, DeploymentIn)]
    incidents = [i for i in items if isinstance(i.event, IncidentIn)]

    if changes:
        _store_changes(batch, changes, unlinked_raw, raw_by_item)
    if deployments:
        _store_deployments(batch, deployments, unlinked_raw, raw_by_item)
    for item in incidents:
        incident = _store_incident(batch, item, raw_by_item[id(item)])
        if incident.component_id is None:
            unlinked_raw.append(raw_by_item[id(item)].pk)
    for key in batch.recompute:
        recompute_component(key, batch=batch)
    if unlinked_raw:
        RawEvent.objects.filter(pk__in=unlinked_raw).update(status=RawEventStatus.UNLINKED)
    _mark_dirty(batch.dirty)
    return len(unlinked_raw)


def _store_changes(
    batch: _Batch, items: list[Incoming], unlinked: list[int], raws: dict[int, RawEvent]
) -> None:
    rows = []
    for item in items:
        event = item.event
        if not isinstance(event, ChangeIn):
            continue
        entity, name, key = batch.component(item, event.component)
        if entity is None:
            unlinked.append(raws[id(item)].pk)
        rows.append(
            Change(
                component=entity,
                component_name=name,
                component_key=key,
                sha=event.sha,
                committed_at=event.committed_at,
            )
        )
    Change.objects.bulk_create(rows, ignore_conflicts=True)


def _store_deployments(
    batch: _Batch, items: list[Incoming], unlinked: list[int], raws: dict[int, RawEvent]
) -> None:
    items.sort(key=lambda i: i.event.finished_at)  # type: ignore[union-attr]
    ids = [i.event.id for i in items]  # type: ignore[union-attr]
    existing = {d.external_id: d for d in Deployment.objects.filter(external_id__in=ids)}
    resolved: list[tuple[Incoming, DeploymentIn, Entity | None, str, str]] = []
    for item in items:
        event = item.event
        if not isinstance(event, DeploymentIn):
            continue
        entity, name, key = batch.component(item, event.component)
        if entity is None:
            unlinked.append(raws[id(item)].pk)
        resolved.append((item, event, entity, name, key))

    # Latest known successful deployment per (component, env) before this batch: an older
    # deployment arriving now means attribution must be recomputed for that component.
    keys = {r[4] for r in resolved}
    latest = _latest_success({(r[4], r[1].environment) for r in resolved})

    new_rows: list[Deployment] = []
    for item, event, entity, name, key in resolved:
        fields = {
            "source": item.source,
            "component": entity,
            "component_name": name,
            "component_key": key,
            "environment": event.environment,
            "status": event.status,
            "started_at": event.started_at,
            "finished_at": event.finished_at,
            "commit_sha": event.commit,
            "is_rollback": event.rollback,
            "is_hotfix": event.hotfix,
            "extra": event.extra,
            "raw": raws[id(item)],
        }
        old = existing.get(event.id)
        if old is not None:  # a webhook status update for a deployment we know
            batch.mark(old.component_key, old.environment, old.finished_at)
            for k, v in fields.items():
                setattr(old, k, v)
            old.save()
            batch.recompute.add(key)
            batch.mark(key, event.environment, event.finished_at)
            continue
        dep = Deployment(external_id=event.id, **fields)
        new_rows.append(dep)
        existing[event.id] = dep
        batch.mark(key, event.environment, event.finished_at)
        last = latest.get((key, event.environment))
        if last is not None and event.finished_at < last:
            batch.recompute.add(key)
        if event.status == DeploymentStatus.SUCCESS and (last is None or event.finished_at > last):
            latest[(key, event.environment)] = event.finished_at
    copy_insert(Deployment, new_rows)
    _link_commits(batch, resolved, existing, {d.pk for d in new_rows})
    # Incidents that started after a newly stored deployment may now belong to it.
    last_incident = dict(
        Incident.objects.filter(component_key__in=keys, attributed_explicitly=False)
        .values("component_key")
        .annotate(last=_max("started_at"))
        .values_list("component_key", "last")
    )
    # Incidents that named one of these deployments before it arrived get their explicit cause.
    batch.recompute.update(
        Incident.objects.filter(
            deployment_ref__in=[d.external_id for d in new_rows], attributed_explicitly=False
        ).values_list("component_key", flat=True)
    )
    for _item, event, _entity, _name, key in resolved:
        dep = existing[event.id]
        if dep.status == DeploymentStatus.SUCCESS and (dep.is_rollback or dep.is_hotfix):
            _mark_undone(batch, dep)
        last = last_incident.get(key)
        if (
            dep.status == DeploymentStatus.SUCCESS
            and dep.environment == PRODUCTION
            and last is not None
            and last > dep.finished_at
        ):
            batch.recompute.add(key)


def _latest_success(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], datetime]:
    """Latest successful deployment finish per (component, environment): one index probe per
    pair on PostgreSQL, so the cost does not grow with the table."""
    if not pairs:
        return {}
    if connection.vendor == "postgresql":
        ks, envs = zip(*sorted(pairs), strict=True)
        with connection.cursor() as cur:
            cur.execute(
                "SELECT p.k, p.e, (SELECT max(d.finished_at) FROM metrics_deployment d "
                "WHERE d.component_key = p.k AND d.environment = p.e AND d.status = 'success') "
                "FROM unnest(%s::text[], %s::text[]) AS p(k, e)",
                [list(ks), list(envs)],
            )
            return {(k, e): last for k, e, last in cur.fetchall() if last is not None}
    out: dict[tuple[str, str], datetime] = {}
    for row in (
        Deployment.objects.filter(
            component_key__in={k for k, _ in pairs}, status=DeploymentStatus.SUCCESS
        )
        .values("component_key", "environment")
        .annotate(last=_max("finished_at"))
    ):
        out[(row["component_key"], row["environment"])] = row["last"]
    return out


def _max(name: str) -> Any:
    return Max(name)


def _link_commits(
    batch: _Batch,
    resolved: list[tuple[Incoming, DeploymentIn, Entity | None, str, str]],
    deployments: dict[str, Deployment],
    fresh_ids: set[int],
) -> None:
    """Store the commits each deployment shipped and keep Change.first_prod_deployed_at."""
    # (component_key, sha) -> (component_id, component_name, committed_at); plain tuples, because
    # a batch carries tens of thousands of commits and model objects cost more than the COPY.
    wanted: dict[tuple[str, str], tuple[int | None, str, datetime]] = {}
    first_prod: dict[tuple[str, str], Deployment] = {}
    explicit: list[tuple[Deployment, list[tuple[str, str]]]] = []
    inferred: list[Deployment] = []
    for _item, event, entity, name, key in resolved:
        dep = deployments[event.id]
        if event.commits is None:
            if dep.status == DeploymentStatus.SUCCESS:
                inferred.append(dep)
            continue
        prod_success = dep.status == DeploymentStatus.SUCCESS and dep.environment == PRODUCTION
        entity_id = entity.pk if entity is not None else None
        pairs = []
        for commit in event.commits:
            ck = (key, commit.sha)
            pairs.append(ck)
            if ck not in wanted:
                wanted[ck] = (entity_id, name, commit.committed_at)
            if prod_success:
                cur = first_prod.get(ck)
                if cur is None or dep.finished_at < cur.finished_at:
                    first_prod[ck] = dep
        explicit.append((dep, pairs))
    if wanted:
        keys = {k for k, _ in wanted}
        shas = [s for _, s in wanted]
        known = _known_changes(keys, shas)
        ids = {ck: c.pk for ck, c in known.items()}
        ids.update(
            _insert_changes(
                [(ck, wanted[ck], first_prod.get(ck)) for ck in wanted if ck not in known]
            )
        )
        for ck, dep in first_prod.items():
            change = known.get(ck)
            if change is not None and (
                change.first_prod_deployed_at is None
                or dep.finished_at < change.first_prod_deployed_at
            ):
                _set_first_prod(change, dep)
        pairs_to_link = {(dep.pk, ids[ck]) for dep, pairs in explicit for ck in pairs}
        # New deployments cannot have links yet; updated ones may, so skip those pairs.
        updated = [dep.pk for dep, _ in explicit if dep.pk not in fresh_ids]
        if updated:
            pairs_to_link -= set(
                DeploymentCommit.objects.filter(deployment_id__in=updated).values_list(
                    "deployment_id", "change_id"
                )
            )
        _insert_links(pairs_to_link)
    for dep in inferred:
        _infer_commits(dep)


def _known_changes(keys: set[str], shas: list[str]) -> dict[tuple[str, str], Change]:
    """Changes already stored for these (component, sha) pairs, in one round trip."""
    if connection.vendor == "postgresql":
        # One array parameter instead of tens of thousands of placeholders.
        qs = Change.objects.raw(
            "SELECT * FROM metrics_change WHERE sha = ANY(%s) AND component_key = ANY(%s)",
            [shas, list(keys)],
        )
    else:
        qs = Change.objects.filter(component_key__in=keys, sha__in=shas)  # type: ignore[assignment,unused-ignore]
    return {(c.component_key, c.sha): c for c in qs}


def _insert_changes(
    rows: list[tuple[tuple[str, str], tuple[int | None, str, datetime], Deployment | None]],
) -> dict[tuple[str, str], int]:
    """Insert new changes (with their first production deployment) and return their ids."""
    if not rows:
        return {}
    if connection.vendor == "postgresql":
        pks = allocate_ids(Change, len(rows))
        copy_rows(
            Change._meta.db_table,
            [
                "id",
                "component_id",
                "component_name",
                "component_key",
                "sha",
                "committed_at",
                "first_prod_deployment_id",
                "first_prod_deployed_at",
            ],
            (
                (
                    pk,
                    eid,
                    name,
                    key,
                    sha,
                    committed,
                    dep.pk if dep else None,
                    dep.finished_at if dep else None,
                )
                for pk, ((key, sha), (eid, name, committed), dep) in zip(pks, rows, strict=True)
            ),
        )
        return {ck: pk for pk, (ck, _, _) in zip(pks, rows, strict=True)}
    objs = [
        Change(
            component_id=eid,
            component_name=name,
            component_key=key,
            sha=sha,
            committed_at=committed,
            first_prod_deployment=dep,
            first_prod_deployed_at=dep.finished_at if dep else None,
        )
        for (key, sha), (eid, name, committed), dep in rows
    ]
    Change.objects.bulk_create(objs, batch_size=2000)
    return {(c.component_key, c.sha): c.pk for c in objs}


def _insert_links(pairs: set[tuple[int, int]]) -> None:
    if connection.vendor == "postgresql":
        copy_rows(
            DeploymentCommit._meta.db_table,
            ["deployment_id", "change_id", "inferred"],
            ((d, c, False) for d, c in pairs),
        )
    else:
        DeploymentCommit.objects.bulk_create(
            [DeploymentCommit(deployment_id=d, change_id=c) for d, c in pairs], batch_size=2000
        )


def _set_first_prod(change: Change, dep: Deployment) -> None:
    if change.first_prod_deployment_id == dep.pk:
        return
    Change.objects.filter(pk=change.pk).filter(
        Q(first_prod_deployed_at__isnull=True) | Q(first_prod_deployed_at__gt=dep.finished_at)
    ).update(first_prod_deployment=dep, first_prod_deployed_at=dep.finished_at)
    change.first_prod_deployment = dep
    change.first_prod_deployed_at = dep.finished_at


def _infer_commits(dep: Deployment) -> None:
    """No commit list: the component's known commits not yet shipped to this environment by an
    earlier successful deployment, committed no later than this deployment's commit (or start)."""
    cutoff = dep.started_at or dep.finished_at
    if dep.commit_sha:
        head = Change.objects.filter(component_key=dep.component_key, sha=dep.commit_sha).first()
        if head is not None:
            cutoff = head.committed_at
    shipped = DeploymentCommit.objects.filter(
        deployment__component_key=dep.component_key,
        deployment__environment=dep.environment,
        deployment__status=DeploymentStatus.SUCCESS,
        deployment__finished_at__lt=dep.finished_at,
    ).values("change_id")
    candidates = list(
        Change.objects.filter(component_key=dep.component_key, committed_at__lte=cutoff).exclude(
            pk__in=shipped
        )
    )
    DeploymentCommit.objects.bulk_create(
        [DeploymentCommit(deployment=dep, change=c, inferred=True) for c in candidates],
        ignore_conflicts=True,
    )
    if dep.environment == PRODUCTION:
        for change in candidates:
            if (
                change.first_prod_deployed_at is None
                or dep.finished_at < change.first_prod_deployed_at
            ):
                _set_first_prod(change, dep)


def _mark_undone(batch: _Batch, rollback: Deployment) -> None:
    """A rollback/hotfix undoes the component's latest earlier planned successful deployment."""
    before = rollback.started_at or rollback.finished_at
    target = (
        Deployment.objects.filter(
            component_key=rollback.component_key,
            environment=rollback.environment,
            status=DeploymentStatus.SUCCESS,
            is_rollback=False,
            is_hotfix=False,
            finished_at__lt=before,
        )
        .order_by("-finished_at", "-pk")
        .first()
    )
    if target is not None and target.undone_by_id is None:
        target.undone_by = rollback
        target.save(update_fields=["undone_by"])
        batch.mark(target.component_key, target.environment, target.finished_at)


def _store_incident(batch: _Batch, item: Incoming, raw: RawEvent) -> Incident:
    event = item.event
    if not isinstance(event, IncidentIn):
        raise TypeError("not an incident")
    entity, name, key = batch.component(item, event.component)
    incident = Incident.objects.filter(external_id=event.id).first()
    if incident is None:
        incident = Incident(external_id=event.id, source=item.source)
    previous_dep = incident.attributed_deployment
    incident.component = entity
    incident.component_name = name
    incident.component_key = key
    incident.title = event.title or incident.title
    # Merge rather than overwrite: a resolve may arrive before its trigger (out of order).
    incident.started_at = event.started_at or incident.started_at
    incident.resolved_at = event.resolved_at or incident.resolved_at
    incident.deployment_ref = event.deployment or incident.deployment_ref
    incident.extra = {**incident.extra, **event.extra}
    if item.link_by != "name":
        incident.extra["link"] = {"by": item.link_by, "value": event.component}
    _attribute(incident)
    incident.save()
    if previous_dep is not None:
        batch.mark(previous_dep.component_key, previous_dep.environment, previous_dep.finished_at)
    if incident.attributed_deployment is not None:
        dep = incident.attributed_deployment
        batch.mark(dep.component_key, dep.environment, dep.finished_at)
    batch.mark(key, PRODUCTION, incident.started_at)
    return incident


def _attribute(incident: Incident) -> None:
    """Explicit cause when named and known; else the component's last successful production
    deployment finished before the incident started."""
    if incident.deployment_ref:
        dep = Deployment.objects.filter(external_id=incident.deployment_ref).first()
        if dep is not None:
            incident.attributed_deployment = dep
            incident.attributed_explicitly = True
            return
    incident.attributed_explicitly = False
    if incident.started_at is None:
        incident.attributed_deployment = None
        return
    incident.attributed_deployment = (
        Deployment.objects.filter(
            component_key=incident.component_key,
            environment=PRODUCTION,
            status=DeploymentStatus.SUCCESS,
            finished_at__lt=incident.started_at,
        )
        .order_by("-finished_at", "-pk")
        .first()
    )


def recompute_component(key: str, *, batch: _Batch | None = None) -> None:
    """Redo rollback and incident attribution for one component (after out-of-order events)."""
    batch = batch or _Batch()
    for dep in Deployment.objects.filter(component_key=key, undone_by__isnull=False):
        batch.mark(key, dep.environment, dep.finished_at)
    Deployment.objects.filter(component_key=key, undone_by__isnull=False).update(undone_by=None)
    for rollback in Deployment.objects.filter(
        Q(is_rollback=True) | Q(is_hotfix=True), component_key=key, status=DeploymentStatus.SUCCESS
    ).order_by("finished_at"):
        _mark_undone(batch, rollback)
    for incident in Incident.objects.filter(component_key=key).select_related(
        "attributed_deployment"
    ):
        before = incident.attributed_deployment
        _attribute(incident)
        if incident.attributed_deployment != before:
            incident.save(update_fields=["attributed_deployment", "attributed_explicitly"])
            for changed in (before, incident.attributed_deployment):
                if changed is not None:
                    batch.mark(changed.component_key, changed.environment, changed.finished_at)
    if batch is not None:
        _mark_dirty(batch.dirty)


def _mark_dirty(dirty: set[tuple[str, str, date]]) -> None:
    if dirty:
        DirtyDay.objects.bulk_create(
            [DirtyDay(component_key=k, environment=e, day=d) for k, e, d in dirty],
            ignore_conflicts=True,
            batch_size=5000,
        )


# --- Mapping unlinked events ------------------------------------------------------------------


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
                by, value = hint.get("by", "name"), hint.get("value", row.component_name)
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
                    dirty.add((old_key, row.environment, _day(row.finished_at)))
                    dirty.add((row.component_key, row.environment, _day(row.finished_at)))
        RawEvent.objects.filter(status=RawEventStatus.UNLINKED).filter(
            Q(deployment__component__isnull=False)
        ).update(status=RawEventStatus.PROCESSED)
        for key in touched:
            recompute_component(key)
        _mark_dirty(dirty)
    return linked


# --- Integration tokens -------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_integration_token(*, name: str, actor: object = None) -> tuple[IntegrationToken, str]:
    """Create a token for a CI/CD integration; the plain token is returned once, only its hash kept."""
    token = "pvd_" + secrets.token_urlsafe(32)
    row = IntegrationToken.objects.create(
        name=name,
        prefix=token[:12],
        token_hash=hash_token(token),
        created_by=actor if getattr(actor, "pk", None) else None,  # type: ignore[misc]
    )
    return row, token


def revoke_integration_token(*, token: IntegrationToken, actor: object = None) -> None:
    IntegrationToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def authenticate_integration_token(token: str) -> IntegrationToken | None:
    if not token:
        return None
    row = IntegrationToken.objects.filter(
        prefix=token[:12], token_hash=hash_token(token), revoked_at__isnull=True
    ).first()
    if row is not None:
        IntegrationToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
    return row
