"""Ingest delivery events: one path for webhooks, the API, the import command and the benchmark.

Ingestion is batch-oriented: one event is a batch of one. Each batch runs in one transaction,
so a failed batch leaves nothing half-written. Deployments and their commits are stored by
`metrics.deployments`, incidents and rollbacks attributed by `metrics.attribution`.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from metrics.attribution import recompute_components, store_incidents
from metrics.batch import GENERIC_SOURCE, Batch, Incoming, mark_dirty
from metrics.deployments import store_deployments
from metrics.events import (
    ChangeIn,
    DeploymentIn,
    IncidentIn,
    InvalidEvent,
    contains_nul,
    delivery_key,
    loads_storable,
    parse_event,
)
from metrics.models import Change, RawEvent, RawEventStatus
from portal.lib.bulk import JsonText, insert_rows, pg_execute


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
    batch = Batch()
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
        store_deployments(batch, deployments, unlinked_raw, raws)
    if incidents:
        store_incidents(batch, incidents, unlinked_raw, raws)
    if batch.recompute:
        recompute_components(batch.recompute, batch=batch)
    if unlinked_raw:
        RawEvent.objects.filter(pk__in=unlinked_raw).update(status=RawEventStatus.UNLINKED)
    mark_dirty(batch.dirty)
    return len(unlinked_raw)


def _store_changes(
    batch: Batch, items: list[Incoming], unlinked: list[int], raws: dict[int, int]
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
