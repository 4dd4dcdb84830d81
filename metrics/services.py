"""Writes: ingest delivery events (one path for webhooks, the API, the import command and the
benchmark), attribute incidents and rollbacks, relink, tokens, survey answers.

Ingestion is batch-oriented: one event is a batch of one. Each batch runs in one transaction,
so a failed batch leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import queue
import secrets
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import Entity
from metrics.bulk import JsonText, copy_rows, insert_rows, pg_execute
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
    text: str | None = None  # the JSON text `payload` was parsed from, stored as it is


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


@dataclass(slots=True)
class _Dep:
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
    def of(cls, d: Deployment) -> _Dep:
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


def _with_link_hint(item: Incoming, extra: dict[str, Any]) -> dict[str, Any]:
    """Remember how an event named its component (repository, Argo CD app, PagerDuty service)
    so that relinking can look it up the same way once the catalog knows it."""
    if item.link_by == "name":
        return extra
    return {**extra, "link": {"by": item.link_by, "value": item.event.component}}


# --- Generic events (API and import) --------------------------------------------------------

BATCH = 5000
_TYPE_ORDER = {ChangeIn: 0, DeploymentIn: 1, IncidentIn: 2}


def ingest_generic(
    lines: Iterable[tuple[str, str]],
    *,
    source: str = GENERIC_SOURCE,
    batch_size: int = BATCH,
    background: bool = False,
) -> IngestResult:
    """Parse and ingest generic events; `lines` yields (where, json_text) pairs.

    Streams: events are stored in batches of `batch_size` as they are parsed, so memory does not
    grow with the file. Invalid lines are reported (and kept as RawEvent rows for inspection)
    and never stop the valid ones. Within a batch changes go first, then deployments, then
    incidents; deployments without a commit list (whose commits are inferred from known changes)
    wait until every other line is in, so a file's order does not matter. Deployments and
    incidents arriving out of order between batches are reattributed by the batch core.

    background=True parses in a thread (for big files): parsing is pure Python and overlaps the
    batch core's waits for PostgreSQL, during which psycopg releases the GIL.
    """
    result = IngestResult()
    batches = 0
    chunks = _parse_lines(lines, source, batch_size)
    for chunk in _in_background(chunks) if background else chunks:
        if chunk.invalid:
            result.invalid.extend((where, reason) for where, reason, _ in chunk.invalid)
            RawEvent.objects.bulk_create([r for _, _, r in chunk.invalid], ignore_conflicts=True)
        if not chunk.valid:
            continue
        chunk.valid.sort(key=lambda i: _TYPE_ORDER[type(i.event)])
        loaded, dup, unlinked = ingest(chunk.valid)
        result.loaded += loaded
        result.duplicate += dup
        result.unlinked += unlinked
        batches += 1
        if batches & (batches - 1) == 0:  # after batch 1, 2, 4, 8, ...
            _analyze()
    return result


@dataclass
class _Parsed:
    valid: list[Incoming]
    invalid: list[tuple[str, str, RawEvent]]  # (where, reason, row kept for inspection)


def _parse_lines(
    lines: Iterable[tuple[str, str]], source: str, batch_size: int
) -> Iterator[_Parsed]:
    """Validate lines into batches; touches no database, so it can run in a thread."""
    chunk = _Parsed([], [])
    deferred: list[Incoming] = []
    for where, text in lines:
        payload: Any = None
        try:
            payload = loads_storable(text)
            event = parse_event(payload)
        except (ValueError, InvalidEvent) as exc:
            reason = str(exc) if isinstance(exc, InvalidEvent) else f"not valid JSON: {exc}"
            chunk.invalid.append((where, reason, _invalid_row(source, text, payload, reason)))
        else:
            item = Incoming(
                source=source,
                delivery_id=delivery_key(event),
                event=event,
                payload=payload,
                event_type=str(payload.get("type")),
                text=text,
            )
            if isinstance(event, DeploymentIn) and event.commits is None:
                deferred.append(item)
            else:
                chunk.valid.append(item)
        if len(chunk.valid) >= batch_size or len(chunk.invalid) >= batch_size:
            yield chunk
            chunk = _Parsed([], [])
    yield chunk
    for start in range(0, len(deferred), batch_size):
        yield _Parsed(deferred[start : start + batch_size], [])


def _in_background[T](items: Iterator[T]) -> Iterator[T]:
    """Produce `items` in a daemon thread, at most two ahead of the consumer."""
    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(message: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                q.put(message, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            put(("error", exc))

    thread = threading.Thread(target=run, name="metrics-parse", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()  # the consumer failed or stopped early: let the producer end
        thread.join()


def _analyze() -> None:
    """Refresh the planner's statistics while a large import grows the tables:
    with the statistics of an empty table it picks the wrong index for the per-component
    "latest deployment before" probes, which then cost milliseconds instead of microseconds.
    Called after batch 1, 2, 4, 8, ... so a million events cost about 8 ANALYZE runs."""
    with connection.cursor() as cur:
        cur.execute("ANALYZE metrics_deployment, metrics_change, metrics_incident")


def _invalid_row(source: str, text: str, payload: Any, reason: str) -> RawEvent:
    digest = hashlib.sha256(text.encode()).hexdigest()
    structured = isinstance(payload, (dict, list))
    return RawEvent(
        source=source,
        delivery_id=f"invalid:{digest}",
        event_type=str(payload.get("type", ""))[:64] if isinstance(payload, dict) else "",
        payload=payload if structured else None,
        body="" if structured else text[:10000].replace("\x00", "\ufffd"),
        status=RawEventStatus.INVALID,
        error=reason,
    )


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
    existing = _stored_deliveries(unique)
    fresh = [i for i in unique if (i.source, i.delivery_id) not in existing]
    duplicates += len(unique) - len(fresh)
    if not fresh:
        return 0, duplicates, 0
    try:
        with transaction.atomic():
            unlinked = _ingest_fresh(fresh)
    except IntegrityError:
        # A concurrent delivery of the same event won the race (or one batch updates the same
        # deployment twice): fall back to one at a time.
        if len(fresh) == 1:
            return 0, duplicates + 1, 0
        loaded = unlinked = 0
        for item in fresh:
            lo, du, un = ingest([item])
            loaded, duplicates, unlinked = loaded + lo, duplicates + du, unlinked + un
        return loaded, duplicates, unlinked
    return len(fresh), duplicates, unlinked


def _stored_deliveries(items: list[Incoming]) -> set[tuple[str, str]]:
    """(source, delivery_id) pairs of the batch already stored: one query."""
    rows = pg_execute(
        "SELECT r.source, r.delivery_id FROM metrics_rawevent r "
        "JOIN unnest(%s::text[], %s::text[]) AS p(s, d) "
        "ON r.source = p.s AND r.delivery_id = p.d",
        [[i.source for i in items], [i.delivery_id for i in items]],
    )
    return {(s, d) for s, d in rows}


_RAW_COLUMNS = ("source", "delivery_id", "event_type", "payload", "body", "headers", "status")


def _ingest_fresh(items: list[Incoming]) -> int:
    batch = _Batch()
    processed = RawEventStatus.PROCESSED
    raw_ids = insert_rows(
        RawEvent,
        [*_RAW_COLUMNS, "error", "received_at"],
        [
            (
                i.source,
                i.delivery_id,
                i.event_type or type(i.event).__name__.removesuffix("In").lower(),
                JsonText(i.text) if i.text is not None else i.payload,
                "",
                i.headers,
                processed,
                "",
                timezone.now(),
            )
            for i in items
        ],
    )
    batch.prime(items)
    raws = {id(i): pk for i, pk in zip(items, raw_ids, strict=True)}
    unlinked_raw: list[int] = []
    changes = [i for i in items if isinstance(i.event, ChangeIn)]
    deployments = [i for i in items if isinstance(i.event, DeploymentIn)]
    incidents = [i for i in items if isinstance(i.event, IncidentIn)]

    if changes:
        _store_changes(batch, changes, unlinked_raw, raws)
    if deployments:
        _store_deployments(batch, deployments, unlinked_raw, raws)
    if incidents:
        _store_incidents(batch, incidents, unlinked_raw, raws)
    if batch.recompute:
        recompute_components(batch.recompute, batch=batch)
    if unlinked_raw:
        RawEvent.objects.filter(pk__in=unlinked_raw).update(status=RawEventStatus.UNLINKED)
    _mark_dirty(batch.dirty)
    return len(unlinked_raw)


def _store_changes(
    batch: _Batch, items: list[Incoming], unlinked: list[int], raws: dict[int, int]
) -> None:
    rows = []
    for item in items:
        event = item.event
        if not isinstance(event, ChangeIn):
            continue
        entity, name, key = batch.component(item, event.component)
        if entity is None:
            unlinked.append(raws[id(item)])
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


_DEP_COLUMNS = (
    "external_id",
    "source",
    "component_id",
    "component_name",
    "component_key",
    "environment",
    "status",
    "started_at",
    "finished_at",
    "commit_sha",
    "is_rollback",
    "is_hotfix",
    "undone_by_id",
    "extra",
    "raw_id",
)


def _store_deployments(
    batch: _Batch, items: list[Incoming], unlinked: list[int], raws: dict[int, int]
) -> None:
    items.sort(key=lambda i: i.event.finished_at)  # type: ignore[union-attr]
    ids = [i.event.id for i in items]  # type: ignore[union-attr]
    known_qs = Deployment.objects.raw(
        "SELECT * FROM metrics_deployment WHERE external_id = ANY(%s)", [ids]
    )
    known = {d.external_id: d for d in known_qs}
    resolved: list[tuple[Incoming, DeploymentIn, Entity | None, str, str]] = []
    for item in items:
        event = item.event
        if not isinstance(event, DeploymentIn):
            continue
        entity, name, key = batch.component(item, event.component)
        if entity is None:
            unlinked.append(raws[id(item)])
        resolved.append((item, event, entity, name, key))

    # Latest known successful deployment per (component, env) before this batch: an older
    # deployment arriving now means attribution must be recomputed for that component.
    keys = {r[4] for r in resolved}
    latest = _latest_success({(r[4], r[1].environment) for r in resolved})

    deps: dict[str, _Dep] = {}
    new_rows: list[tuple[Any, ...]] = []
    new_deps: list[_Dep] = []
    for item, event, entity, name, key in resolved:
        old = known.get(event.id)
        if old is not None:  # a webhook status update for a deployment we know
            if event.id in deps:  # twice in one batch: the caller retries one at a time
                raise IntegrityError("deployment updated twice in one batch")
            batch.mark(old.component_key, old.environment, old.finished_at)
            old.source, old.component, old.component_name = item.source, entity, name
            old.component_key, old.environment, old.status = key, event.environment, event.status
            old.started_at, old.finished_at = event.started_at, event.finished_at
            old.commit_sha, old.is_rollback, old.is_hotfix = (
                event.commit,
                event.rollback,
                event.hotfix,
            )
            old.extra, old.raw_id = _with_link_hint(item, event.extra), raws[id(item)]
            old.save()
            deps[event.id] = _Dep.of(old)
            batch.recompute.add(key)
            batch.mark(key, event.environment, event.finished_at)
            continue
        if event.id in deps:
            raise IntegrityError("deployment stored twice in one batch")
        new_rows.append(
            (
                event.id,
                item.source,
                entity.pk if entity is not None else None,
                name,
                key,
                event.environment,
                event.status,
                event.started_at,
                event.finished_at,
                event.commit,
                event.rollback,
                event.hotfix,
                None,
                _with_link_hint(item, event.extra),
                raws[id(item)],
            )
        )
        dep = _Dep(
            0,
            event.id,
            key,
            event.environment,
            event.status,
            event.started_at,
            event.finished_at,
            event.commit,
            event.rollback,
            event.hotfix,
        )
        new_deps.append(dep)
        deps[event.id] = dep
        batch.mark(key, event.environment, event.finished_at)
        last = latest.get((key, event.environment))
        if last is not None and event.finished_at < last:
            batch.recompute.add(key)
        if event.status == DeploymentStatus.SUCCESS and (last is None or event.finished_at > last):
            latest[(key, event.environment)] = event.finished_at
    for dep, pk in zip(new_deps, insert_rows(Deployment, _DEP_COLUMNS, new_rows), strict=True):
        dep.pk = pk
    _link_commits(batch, resolved, deps, {d.pk for d in new_deps})
    # Incidents that started after a newly stored deployment may now belong to it.
    last_incident = dict(
        Incident.objects.filter(component_key__in=keys, attributed_explicitly=False)
        .values("component_key")
        .annotate(last=_max("started_at"))
        .values_list("component_key", "last")
    )
    # Incidents that named one of these deployments before it arrived get their explicit cause.
    if new_deps:
        batch.recompute.update(
            Incident.objects.filter(
                deployment_ref__in=[d.external_id for d in new_deps], attributed_explicitly=False
            ).values_list("component_key", flat=True)
        )
    rollbacks: list[_Dep] = []
    for _item, event, _entity, _name, key in resolved:
        dep = deps[event.id]
        if dep.status == DeploymentStatus.SUCCESS and (dep.is_rollback or dep.is_hotfix):
            rollbacks.append(dep)
        last = last_incident.get(key)
        if (
            dep.status == DeploymentStatus.SUCCESS
            and dep.environment == PRODUCTION
            and last is not None
            and last > dep.finished_at
        ):
            batch.recompute.add(key)
    # Components being recomputed redo every rollback anyway.
    _mark_undone(batch, [r for r in rollbacks if r.component_key not in batch.recompute])


def _latest_success(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], datetime]:
    """Latest successful deployment finish per (component, environment): one index probe per
    pair, so the cost does not grow with the table."""
    if not pairs:
        return {}
    ks, envs = zip(*sorted(pairs), strict=True)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT p.k, p.e, (SELECT max(d.finished_at) FROM metrics_deployment d "
            "WHERE d.component_key = p.k AND d.environment = p.e AND d.status = 'success') "
            "FROM unnest(%s::text[], %s::text[]) AS p(k, e)",
            [list(ks), list(envs)],
        )
        return {(k, e): last for k, e, last in cur.fetchall() if last is not None}


def _max(name: str) -> Any:
    return Max(name)


def _link_commits(
    batch: _Batch,
    resolved: list[tuple[Incoming, DeploymentIn, Entity | None, str, str]],
    deployments: dict[str, _Dep],
    fresh_ids: set[int],
) -> None:
    """Store the commits each deployment shipped and keep Change.first_prod_deployed_at."""
    # (component_key, sha) -> (component_id, component_name, committed_at); plain tuples, because
    # a batch carries tens of thousands of commits and model objects cost more than the COPY.
    wanted: dict[tuple[str, str], tuple[int | None, str, datetime]] = {}
    first_prod: dict[tuple[str, str], _Dep] = {}
    explicit: list[tuple[_Dep, list[tuple[str, str]]]] = []
    inferred: list[_Dep] = []
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
        ids, known = _store_commits(wanted, first_prod)
        moves: list[tuple[int, _Dep]] = []
        for ck, dep in first_prod.items():
            hit = known.get(ck)
            if hit is not None and (hit[1] is None or dep.finished_at < hit[1]):
                moves.append((hit[0], dep))
                # The lead time leaves the day it was counted on.
                batch.mark(ck[0], PRODUCTION, hit[1])
        _set_first_prod(moves)
        pairs_to_link = {(dep.pk, ids[ck]) for dep, pairs in explicit for ck in pairs}
        # New deployments cannot have links yet; updated ones may, so skip those pairs.
        updated = [dep.pk for dep, _ in explicit if dep.pk not in fresh_ids]
        if updated:
            pairs_to_link -= set(
                DeploymentCommit.objects.filter(deployment_id__in=updated).values_list(
                    "deployment_id", "change_id"
                )
            )
        insert_rows(
            DeploymentCommit,
            ("deployment_id", "change_id", "inferred"),
            [(d, c, False) for d, c in pairs_to_link],
            returning=False,
        )
    for dep in inferred:
        _infer_commits(batch, dep)


_CHANGE_COLUMNS = (
    "component_id",
    "component_name",
    "component_key",
    "sha",
    "committed_at",
    "first_prod_deployment_id",
    "first_prod_deployed_at",
)
_CHANGE_IN = (
    "CREATE TEMP TABLE IF NOT EXISTS metrics_change_in (component_id bigint, "
    "component_name text, component_key text, sha text, committed_at timestamptz, "
    "first_prod_deployment_id bigint, first_prod_deployed_at timestamptz) ON COMMIT DELETE ROWS"
)


def _store_commits(
    wanted: dict[tuple[str, str], tuple[int | None, str, datetime]],
    first_prod: dict[tuple[str, str], _Dep],
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], tuple[int, datetime | None]]]:
    """Insert the commits not stored yet (with their first production deployment). Returns the
    id of every commit, and (id, first_prod_deployed_at) of those that were already known."""
    rows = []
    for (key, sha), (eid, name, at) in wanted.items():
        d = first_prod.get((key, sha))
        rows.append((eid, name, key, sha, at, d.pk if d else None, d.finished_at if d else None))
    # COPY into a temporary table, then one INSERT ... ON CONFLICT DO NOTHING
    # RETURNING. A new commit then costs one descent of the (component, sha) index instead of a
    # probe plus an insert (that index outgrows the buffer cache at millions of commits); only
    # the commits that were already known are looked up afterwards.
    pg_execute(_CHANGE_IN, [])
    pg_execute("TRUNCATE metrics_change_in", [])  # savepoints do not clear it; commits do
    copy_rows("metrics_change_in", list(_CHANGE_COLUMNS), rows)
    cols = ", ".join(_CHANGE_COLUMNS)
    inserted = pg_execute(
        f"INSERT INTO metrics_change ({cols}) SELECT {cols} FROM metrics_change_in "  # noqa: S608
        "ON CONFLICT (component_key, sha) DO NOTHING RETURNING component_key, sha, id",
        [],
    )
    ids = {(k, sha): pk for k, sha, pk in inserted}
    known = _known_changes([ck for ck in wanted if ck not in ids]) if len(ids) < len(wanted) else {}
    ids.update({ck: pk for ck, (pk, _) in known.items()})
    return ids, known


def _known_changes(
    pairs: list[tuple[str, str]],
) -> dict[tuple[str, str], tuple[int, datetime | None]]:
    """(pk, first_prod_deployed_at) of changes already stored for these (component, sha) pairs,
    in one round trip."""
    if not pairs:
        return {}
    # Array parameters instead of tens of thousands of placeholders; joining the pairs gives
    # one unique-index probe each.
    rows = pg_execute(
        "SELECT c.component_key, c.sha, c.id, c.first_prod_deployed_at "
        "FROM unnest(%s::text[], %s::text[]) AS p(k, s) "
        "JOIN metrics_change c ON c.component_key = p.k AND c.sha = p.s",
        [[k for k, _ in pairs], [s for _, s in pairs]],
    )
    return {(k, s): (pk, first) for k, s, pk, first in rows}


def _set_first_prod(moves: list[tuple[int, _Dep]]) -> None:
    """Point changes at an earlier first production deployment (never a later one)."""
    if not moves:
        return
    pg_execute(
        "UPDATE metrics_change c SET first_prod_deployment_id = u.dep, "
        "first_prod_deployed_at = u.fin "
        "FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[]) AS u(id, dep, fin) "
        "WHERE c.id = u.id AND (c.first_prod_deployed_at IS NULL "
        "OR c.first_prod_deployed_at > u.fin)",
        [[m[0] for m in moves], [m[1].pk for m in moves], [m[1].finished_at for m in moves]],
    )


def _infer_commits(batch: _Batch, dep: _Dep) -> None:
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
        Change.objects.filter(component_key=dep.component_key, committed_at__lte=cutoff)
        .exclude(pk__in=shipped)
        .values_list("pk", "first_prod_deployed_at")
    )
    DeploymentCommit.objects.bulk_create(
        [
            DeploymentCommit(deployment_id=dep.pk, change_id=pk, inferred=True)
            for pk, _ in candidates
        ],
        ignore_conflicts=True,
    )
    if dep.environment == PRODUCTION:
        moves = [(pk, dep) for pk, first in candidates if first is None or dep.finished_at < first]
        for _pk, first in candidates:
            if first is not None and dep.finished_at < first:
                batch.mark(dep.component_key, PRODUCTION, first)
        _set_first_prod(moves)


def _undo_target() -> Subquery:
    """The latest earlier planned successful deployment of the outer rollback's component."""
    return Subquery(
        Deployment.objects.filter(
            component_key=OuterRef("component_key"),
            environment=OuterRef("environment"),
            status=DeploymentStatus.SUCCESS,
            is_rollback=False,
            is_hotfix=False,
            finished_at__lt=Coalesce(OuterRef("started_at"), OuterRef("finished_at")),
        )
        .order_by("-finished_at", "-pk")
        .values("pk")[:1]
    )


def _mark_undone(batch: _Batch, rollbacks: list[_Dep]) -> None:
    """Each rollback/hotfix undoes the component's latest earlier planned successful deployment
    (unless an earlier rollback already did): two queries for the whole batch."""
    if not rollbacks:
        return
    targets = dict(
        Deployment.objects.filter(pk__in=[r.pk for r in rollbacks])
        .annotate(target=_undo_target())
        .values_list("pk", "target")
    )
    state = {
        pk: (undone, key, env, fin)
        for pk, undone, key, env, fin in Deployment.objects.filter(
            pk__in={t for t in targets.values() if t is not None}
        ).values_list("pk", "undone_by_id", "component_key", "environment", "finished_at")
    }
    undo: dict[int, int] = {}
    for rollback in rollbacks:  # already in finished order: the first rollback wins
        target = targets.get(rollback.pk)
        if target is None or target in undo or state[target][0] is not None:
            continue
        undo[target] = rollback.pk
        _, key, env, fin = state[target]
        batch.mark(key, env, fin)
    _set_undone(undo)


def _set_undone(undo: Mapping[int, int | None]) -> None:
    if undo:
        Deployment.objects.bulk_update(
            [Deployment(pk=t, undone_by_id=r) for t, r in undo.items()],
            ["undone_by"],
            batch_size=1000,
        )


def _store_incidents(
    batch: _Batch, items: list[Incoming], unlinked: list[int], raws: dict[int, int]
) -> None:
    """Merge incident events into their rows (a resolve may arrive before its trigger), then
    attribute all of them in one pass."""
    ids = [i.event.id for i in items]  # type: ignore[union-attr]
    rows = {i.external_id: i for i in Incident.objects.filter(external_id__in=ids)}
    for item in items:
        event = item.event
        if not isinstance(event, IncidentIn):
            raise TypeError("not an incident")
        entity, name, key = batch.component(item, event.component)
        incident = rows.get(event.id)
        if incident is None:
            incident = rows[event.id] = Incident(external_id=event.id, source=item.source)
        incident.component = entity
        incident.component_name = name
        incident.component_key = key
        incident.title = event.title or incident.title
        # Merge rather than overwrite: a resolve may arrive before its trigger (out of order).
        incident.started_at = event.started_at or incident.started_at
        incident.resolved_at = (
            None if event.reopened else (event.resolved_at or incident.resolved_at)
        )
        incident.deployment_ref = event.deployment or incident.deployment_ref
        incident.extra = {**incident.extra, **event.extra}
        incident.extra = _with_link_hint(item, incident.extra)
        if entity is None:
            unlinked.append(raws[id(item)])
    touched = [rows[i] for i in dict.fromkeys(ids)]
    fresh = [i for i in touched if i._state.adding]
    fresh_ids = {id(i) for i in fresh}
    Incident.objects.bulk_create(fresh)
    for incident in touched:
        if id(incident) not in fresh_ids:
            incident.save()
        batch.mark(incident.component_key, PRODUCTION, incident.started_at)
    _attribute(batch, Incident.objects.filter(pk__in=[i.pk for i in touched]))


def _attribute(batch: _Batch, incidents: QuerySet[Incident]) -> None:
    """Explicit cause when named and known; else the component's last successful production
    deployment finished before the incident started. Set-based: one query reads the current and
    the right attribution of every incident, one writes those that differ."""
    rows = incidents.annotate(
        explicit=Subquery(
            Deployment.objects.filter(external_id=OuterRef("deployment_ref")).values("pk")[:1]
        ),
        implicit=Subquery(
            Deployment.objects.filter(
                component_key=OuterRef("component_key"),
                environment=PRODUCTION,
                status=DeploymentStatus.SUCCESS,
                finished_at__lt=OuterRef("started_at"),
            )
            .order_by("-finished_at", "-pk")
            .values("pk")[:1]
        ),
    ).values_list(
        "pk",
        "deployment_ref",
        "started_at",
        "explicit",
        "implicit",
        "attributed_deployment_id",
        "attributed_explicitly",
    )
    changed: list[Incident] = []
    touched: set[int] = set()
    for pk, ref, started, explicit, implicit, current, was_explicit in rows:
        if ref and explicit is not None:
            want: tuple[int | None, bool] = (explicit, True)
        else:
            want = (implicit if started is not None else None, False)
        if want != (current, was_explicit):
            changed.append(
                Incident(pk=pk, attributed_deployment_id=want[0], attributed_explicitly=want[1])
            )
            touched.update(d for d in (current, want[0]) if d is not None)
    if not changed:
        return
    Incident.objects.bulk_update(
        changed, ["attributed_deployment", "attributed_explicitly"], batch_size=1000
    )
    for key, env, fin in Deployment.objects.filter(pk__in=touched).values_list(
        "component_key", "environment", "finished_at"
    ):
        batch.mark(key, env, fin)


def recompute_components(keys: set[str], *, batch: _Batch | None = None) -> None:
    """Redo rollback and incident attribution for these components (after out-of-order events),
    with a constant number of queries however many components and rows there are."""
    own = batch is None
    batch = batch or _Batch()
    keys = set(keys)
    before = dict(
        Deployment.objects.filter(component_key__in=keys, undone_by__isnull=False).values_list(
            "pk", "undone_by_id"
        )
    )
    after: dict[int, int] = {}
    for pk, target in (
        Deployment.objects.filter(
            Q(is_rollback=True) | Q(is_hotfix=True),
            component_key__in=keys,
            status=DeploymentStatus.SUCCESS,
        )
        .annotate(target=_undo_target())
        .order_by("finished_at", "pk")
        .values_list("pk", "target")
    ):
        if target is not None and target not in after:
            after[target] = pk
    diff: dict[int, int | None] = {}
    for target in before.keys() | after.keys():
        if before.get(target) != after.get(target):
            diff[target] = after.get(target)
    _set_undone(diff)
    for key, env, fin in Deployment.objects.filter(pk__in=list(diff)).values_list(
        "component_key", "environment", "finished_at"
    ):
        batch.mark(key, env, fin)
    _attribute(batch, Incident.objects.filter(component_key__in=keys))
    if own:
        _mark_dirty(batch.dirty)


def _mark_dirty(dirty: set[tuple[str, str, date]]) -> None:
    if not dirty:
        return
    ks, es, ds = zip(*dirty, strict=True)
    pg_execute(
        "INSERT INTO metrics_dirtyday (component_key, environment, day) "
        "SELECT * FROM unnest(%s::text[], %s::text[], %s::date[]) "
        "ON CONFLICT DO NOTHING",
        [list(ks), list(es), list(ds)],
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
                    dirty.add((old_key, row.environment, _day(row.finished_at)))
                    dirty.add((row.component_key, row.environment, _day(row.finished_at)))
        RawEvent.objects.filter(status=RawEventStatus.UNLINKED).filter(
            Q(deployment__component__isnull=False)
        ).update(status=RawEventStatus.PROCESSED)
        recompute_components(touched)
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
