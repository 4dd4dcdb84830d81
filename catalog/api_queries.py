"""Reads behind the Backstage-compatible catalog API: filters, field selection, ordering,
cursor pages, batches by reference and ancestry.

Everything here reads; a page costs a fixed number of queries whatever the catalog's size
(the entities, then their relations), and cursor pages seek by key instead of skipping rows, so
page 500 is as fast as page 1."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.expressions import Combinable, OrderBy
from django.db.models.fields.json import KT
from django.db.models.functions import Lower, NullIf

from catalog.ingestion import FILE, REPO, URL, ReadError, Target
from catalog.models import Entity, Relation
from catalog.validation import stringify_ref
from portal.annotations import CATALOG_PROCESSING_STATUS

MAX_LIMIT = 10_000
DEFAULT_QUERY_LIMIT = 20  # Backstage's default page size for /entities/by-query
# PostgreSQL's OFFSET and integer ids stop at these; a larger number is a 400 / 404, not a 500.
MAX_OFFSET = 2**31 - 1
_CHUNK = 1000


class InputError(ValueError):
    """A parameter the API cannot use; the message is shown to the caller as a 400."""


# --- Filters ------------------------------------------------------------------------------------

# A JSON path segment: what annotation/label keys and spec fields are made of. Anything else
# (`__` lookups, spaces, NUL) would be read by the ORM as a lookup or rejected by the database.
# No leading/trailing underscore either: joined with "__", it would shift the ORM's lookup split.
_KEY_SEGMENT = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9./-])?$")
# Dotted filter keys that map onto columns (faster, and case-insensitive like Backstage).
_COLUMNS = {
    "kind": "kind",
    "metadata.name": "name",
    "metadata.namespace": "namespace",
    "spec.type": "spec_type",
    "spec.lifecycle": "lifecycle",
    "spec.owner": None,  # matched on the raw value below
}
_RELATION_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def _condition(key: str, value: str | None) -> Q:
    key = key.strip()
    if value is not None and "\x00" in value:
        raise InputError("filter values must not contain NUL characters")
    low = key.lower()
    if low.startswith("relations."):
        return _relation_condition(key[len("relations.") :], value)
    if low == "metadata.uid":
        if value is None:
            return Q()
        return Q(pk=int(value)) if _is_uid(value) else Q(pk__in=[])
    column = _COLUMNS.get(low, "")
    if value is None:  # `key` alone: exists
        if column:
            return ~Q(**{column: ""})
        return Q(**{f"{json_path(key)}__isnull": False})
    if column:
        return Q(**{f"{column}__iexact": value})
    if low == "spec.owner":
        return Q(spec__owner__iexact=value)
    if key.startswith("metadata.tags"):
        return Q(tags__icontains=f'"{value.lower()}"')
    return Q(**{f"{json_path(key)}__iexact": value})


def _relation_condition(relation_type: str, value: str | None) -> Q:
    """Backstage's `relations.<type>=<targetRef>`: the entity has that relation (to that ref)."""
    if not _RELATION_TYPE.match(relation_type):
        raise InputError(f"unsupported filter key 'relations.{relation_type}'")
    rows = Relation.objects.filter(source=OuterRef("pk"), type__iexact=relation_type)
    if value is not None:
        rows = rows.filter(target_ref=value.strip().lower())
    return Q(Exists(rows))


def _is_uid(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) < 19


def json_path(key: str) -> str:
    """`metadata.annotations.backstage.io/x` → the ORM's JSON lookup path; InputError otherwise."""
    root, _, rest = key.partition(".")
    if root not in ("metadata", "spec") or not rest:
        raise InputError(f"unsupported filter key {key!r}")
    # Annotation/label keys contain dots and slashes: take everything after the map name whole.
    head, _, tail = rest.partition(".")
    whole_tail = head in ("annotations", "labels") and tail
    segments = [head, tail] if whole_tail else rest.split(".")
    if not all(_KEY_SEGMENT.match(s) and "__" not in s for s in segments):
        raise InputError(f"unsupported filter key {key!r}")
    return "__".join([root, *segments])


def parse_filters(values: Iterable[str]) -> Q:
    """Backstage's `filter`: within one param, comma = AND; repeated key = OR of values;
    separate `filter` params = OR."""
    combined = Q()
    for raw in values:
        by_key: dict[str, list[str | None]] = defaultdict(list)
        for part in raw.split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            by_key[key.strip()].append(value.strip() if sep else None)
        clause = Q()
        for key, vals in by_key.items():
            alternatives = Q()
            for v in vals:
                alternatives |= _condition(key, v)
            clause &= alternatives
        combined |= clause
    return combined


# --- Field selection and serialization ----------------------------------------------------------

# Loaded for every answer: what the envelope and `metadata.uid/etag` are built from.
_BASE_COLUMNS = (
    "id",
    "kind",
    "namespace",
    "name",
    "ref",
    "api_version",
    "etag",
    "processing_errors",
)
# metadata keys that come from columns, so `fields` naming only these never loads the JSON.
_METADATA_COLUMNS = {"name", "namespace", "uid", "etag"}


def parse_fields(values: Iterable[str]) -> list[str] | None:
    """`fields=kind,metadata.name` (also repeated): the paths to keep; None keeps everything."""
    fields = [f.strip() for raw in values for f in raw.split(",") if f.strip()]
    if not fields:
        return None
    if any("[" in f for f in fields):
        raise InputError("invalid fields, array type fields are not supported")
    return fields


@dataclass(frozen=True)
class Plan:
    """What an answer needs from the database, worked out from `fields`."""

    fields: list[str] | None = None
    metadata: bool = True
    spec: bool = True
    relations: bool = True
    status: bool = True

    @classmethod
    def for_fields(cls, fields: list[str] | None) -> Plan:
        if fields is None:
            return cls()
        roots = [f.split(".") for f in fields]
        return cls(
            fields=fields,
            metadata=any(
                p[0] == "metadata" and (len(p) == 1 or p[1] not in _METADATA_COLUMNS) for p in roots
            ),
            spec=any(p[0] == "spec" for p in roots),
            relations=any(p[0] == "relations" for p in roots),
            status=any(p[0] == "status" for p in roots),
        )

    def queryset(self) -> QuerySet[Entity]:
        columns = list(_BASE_COLUMNS)
        if self.metadata:
            columns.append("metadata")
        if self.spec:
            columns.append("spec")
        return Entity.objects.only(*columns)


def serialize(entities: list[Entity], plan: Plan | None = None) -> list[dict[str, Any]]:
    """Entities in Backstage's shape, with their `relations` (one query per 1,000 entities),
    cut down to `plan.fields` when given."""
    plan = plan or Plan()
    relations: dict[int, set[tuple[str, str]]] = defaultdict(set)
    if plan.relations:
        ids = [e.pk for e in entities]
        for start in range(0, len(ids), _CHUNK):
            for source_id, type_, target_ref in Relation.objects.filter(
                source_id__in=ids[start : start + _CHUNK]
            ).values_list("source_id", "type", "target_ref"):
                relations[source_id].add((type_, target_ref))
    out = []
    for entity in entities:
        if plan.metadata and plan.spec:
            body = entity.to_backstage()
        else:
            metadata = dict(entity.metadata or {}) if plan.metadata else {}
            metadata.setdefault("name", entity.name)
            metadata.setdefault("namespace", entity.namespace)
            metadata["uid"], metadata["etag"] = str(entity.pk), entity.etag
            body = {"apiVersion": entity.api_version, "kind": entity.kind,
                    "metadata": metadata, "spec": (entity.spec or {}) if plan.spec else {}}  # fmt: skip
        if plan.relations:
            body["relations"] = [
                {"type": t, "targetRef": r} for t, r in sorted(relations[entity.pk])
            ]
        if entity.processing_errors:
            body["status"] = {
                "items": [
                    {"type": CATALOG_PROCESSING_STATUS, "level": "error", "message": m}
                    for m in entity.processing_errors
                ]
            }
        out.append(body if plan.fields is None else project(body, plan.fields))
    return out


def project(body: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """Keep only the given dotted paths (Backstage's `fields`); missing paths are left out."""
    out: dict[str, Any] = {}
    for path in fields:
        parts = path.split(".")
        node: Any = body
        for part in parts:
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            target = out
            for part in parts[:-1]:
                child = target.get(part)
                if not isinstance(child, dict):
                    child = target[part] = {}
                target = child
            target[parts[-1]] = node
    return out


# --- Ordering -----------------------------------------------------------------------------------

# Sort keys that are columns; the first three are never empty, so they need no NULL handling.
_SORT_COLUMNS = {
    "kind": "kind",
    "metadata.name": "name",
    "metadata.namespace": "namespace",
    "metadata.title": "title",
    "spec.type": "spec_type",
    "spec.lifecycle": "lifecycle",
    "apiversion": "api_version",
}
_NEVER_EMPTY = {"kind", "name", "namespace", "api_version"}


@dataclass(frozen=True)
class SortKey:
    """One order: a case-insensitive value expression (None: by uid only) and a direction."""

    field: str
    descending: bool
    expression: Combinable | None
    nullable: bool


def sort_key(field_name: str, direction: str) -> SortKey:
    direction = direction.strip().lower() or "asc"
    if direction not in ("asc", "desc"):
        raise InputError("Invalid order field order, must be asc or desc")
    key = field_name.strip()
    low = key.lower()
    if not key:
        raise InputError("the order field must not be empty")
    if low == "metadata.uid":
        return SortKey(key, direction == "desc", None, False)
    column = _SORT_COLUMNS.get(low)
    if column in _NEVER_EMPTY:
        return SortKey(key, direction == "desc", Lower(column), False)
    if column:
        # Backstage sorts entities without the field last: an empty column counts as missing.
        return SortKey(key, direction == "desc", NullIf(Lower(column), Value("")), True)
    try:
        path = json_path(key)
    except InputError:
        raise InputError(f"unsupported order field {key!r}") from None
    return SortKey(key, direction == "desc", Lower(KT(path)), True)


def parse_entities_order(values: list[str]) -> list[SortKey]:
    """`/entities?order=asc:metadata.name` (repeatable), as Backstage's legacy list takes it."""
    keys = []
    for raw in values:
        direction, sep, name = raw.partition(":")
        if not sep or direction not in ("asc", "desc") or not name:
            raise InputError(
                f'Invalid order parameter "{raw[:100]}", expected "<asc or desc>:<field name>"'
            )
        keys.append(sort_key(name, direction))
    return keys


def apply_order(qs: QuerySet[Entity], keys: list[SortKey]) -> QuerySet[Entity]:
    """Order by each key (entities without the field last), then by uid for a stable order."""
    ordering: list[OrderBy | str] = []
    for i, key in enumerate(keys):
        if key.expression is None:
            ordering.append("-id" if key.descending else "id")
            continue
        name = f"_order_{i}"
        qs = qs.annotate(**{name: key.expression})
        ordering.append(
            F(name).desc(nulls_last=True) if key.descending else F(name).asc(nulls_last=True)
        )
    return qs.order_by(*ordering, "id")


# --- /entities/by-query -------------------------------------------------------------------------


@dataclass
class Query:
    """What an initial by-query request asked for; cursors carry it to the next pages."""

    filters: list[str] = field(default_factory=list)
    order: tuple[str, str] | None = None
    term: str = ""
    text_fields: list[str] = field(default_factory=list)


@dataclass
class Cursor:
    query: Query
    key: tuple[str | None, int]  # sort value and uid of the row the page starts after/before
    previous: bool
    total: int
    first: tuple[str | None, int] | None  # the first row of the whole listing


def encode_cursor(cursor: Cursor) -> str:
    data = {
        "v": 1,
        "f": cursor.query.filters,
        "o": list(cursor.query.order) if cursor.query.order else None,
        "t": cursor.query.term,
        "tf": cursor.query.text_fields,
        "k": list(cursor.key),
        "p": cursor.previous,
        "n": cursor.total,
        "s": list(cursor.first) if cursor.first else None,
    }
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """A cursor this API issued; InputError for anything else (its parts are checked again like
    the parameters they came from, so an edited cursor can do no more than a new query)."""
    try:
        padded = text.strip() + "=" * (-len(text.strip()) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        query = Query(
            filters=_strings(data["f"]),
            order=_order_pair(data["o"]),
            term=_string(data["t"]),
            text_fields=_strings(data["tf"]),
        )
        cursor = Cursor(
            query=query,
            key=_key(data["k"]),
            previous=data["p"] is True,
            total=_count(data["n"]),
            first=None if data["s"] is None else _key(data["s"]),
        )
    except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error):
        raise InputError("Malformed cursor, could not be parsed") from None
    if data.get("v") != 1:
        raise InputError("Malformed cursor, could not be parsed")
    return cursor


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("not a list of strings")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


def _order_pair(value: Any) -> tuple[str, str] | None:
    if value is None:
        return None
    pair = _strings(value)
    if len(pair) != 2:
        raise ValueError("not a pair")
    return pair[0], pair[1]


def _key(value: Any) -> tuple[str | None, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError("not a key")
    sort_value, uid = value
    if sort_value is not None and not isinstance(sort_value, str):
        raise ValueError("bad sort value")
    if "\x00" in (sort_value or ""):
        raise ValueError("NUL")
    return sort_value, _count(uid)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**63 - 1:
        raise ValueError("not a count")
    return value


def _text_condition(field_name: str, term: str) -> Q:
    low = field_name.strip().lower()
    if low == "metadata.uid":
        return Q(pk=int(term)) if _is_uid(term) else Q(pk__in=[])
    column = _SORT_COLUMNS.get(low)
    if column:
        return Q(**{f"{column}__icontains": term})
    if low.startswith("metadata.tags"):
        return Q(tags__icontains=term)
    try:
        return Q(**{f"{json_path(field_name.strip())}__icontains": term})
    except InputError:
        raise InputError(f"unsupported full text filter field {field_name!r}") from None


def full_text(query: Query) -> Q:
    """Backstage's `fullTextFilterTerm`: a case-insensitive substring of any of the fields
    (by default the order field; without one, the name and the title)."""
    term = query.term.strip()
    if not term:
        return Q()
    if "\x00" in term:
        raise InputError("fullTextFilterTerm must not contain NUL characters")
    fields = query.text_fields or ([query.order[0]] if query.order else [])
    if not fields:
        fields = ["metadata.name", "metadata.title"]
    combined = Q()
    for name in fields:
        combined |= _text_condition(name, term)
    return combined


@dataclass
class Page:
    items: list[dict[str, Any]]
    total: int
    next_cursor: str | None
    prev_cursor: str | None


def query_entities(
    *,
    query: Query | None,
    cursor: Cursor | None,
    limit: int,
    offset: int,
    plan: Plan,
    count: bool,
) -> Page:
    """One page of /entities/by-query: the initial request (`query`), or the page a cursor
    points to. Keyset pagination: the WHERE clause starts after (or before) the cursor's row."""
    if cursor is not None:
        query = cursor.query
    if query is None:
        raise InputError("a query or a cursor is needed")
    order = query.order
    key = sort_key(*order) if order else SortKey("metadata.uid", False, None, False)
    qs = plan.queryset()
    if query.filters:
        qs = qs.filter(parse_filters(query.filters))
    qs = qs.filter(full_text(query))
    if key.expression is not None:
        qs = qs.annotate(_sort=key.expression)
    # Counted once, on the first page; the cursor carries the number on (as Backstage does).
    total = cursor.total if cursor is not None else (qs.count() if count else 0)
    backwards = cursor is not None and cursor.previous
    if cursor is not None:
        qs = qs.filter(_seek(key, cursor.key, backwards))
    qs = qs.order_by(*_ordering(key, backwards))
    start = offset if cursor is None else 0
    rows = list(qs[start : start + limit + (0 if backwards else 1)]) if limit > 0 else []
    if backwards:
        rows.reverse()
        has_more = bool(rows)
    else:
        has_more = len(rows) > limit
        rows = rows[:limit]
    keys = [_row_key(row, key) for row in rows]
    first = cursor.first if cursor is not None else (keys[0] if keys else None)
    next_cursor = prev_cursor = None
    if has_more:
        next_cursor = encode_cursor(Cursor(query, keys[-1], False, total, first))
    if cursor is not None and keys and keys[0] != first:
        prev_cursor = encode_cursor(Cursor(query, keys[0], True, total, first))
    return Page(serialize(rows, plan), total, next_cursor, prev_cursor)


def _row_key(row: Entity, key: SortKey) -> tuple[str | None, int]:
    value = getattr(row, "_sort", None) if key.expression is not None else None
    return (None if value is None else str(value)), row.pk


def _ordering(key: SortKey, backwards: bool) -> list[OrderBy | str]:
    """Forward: by value (missing last), then uid, both in the key's direction. Backwards is
    the exact reverse, so a previous page can be read from the row it starts before."""
    descending = key.descending != backwards
    by_id = "-id" if descending else "id"
    if key.expression is None:
        return [by_id]
    value = F("_sort")
    if backwards:  # missing values come first when walking the order in reverse
        ordered = value.desc(nulls_first=True) if descending else value.asc(nulls_first=True)
    else:
        ordered = value.desc(nulls_last=True) if descending else value.asc(nulls_last=True)
    return [ordered, by_id]


def _seek(key: SortKey, at: tuple[str | None, int], backwards: bool) -> Q:
    """Rows after `at` in the listing's order (before it when `backwards`)."""
    value, uid = at
    # Walking forward in a descending order, or backward in an ascending one, goes down.
    down = key.descending != backwards
    uid_beyond = Q(pk__lt=uid) if down else Q(pk__gt=uid)
    if key.expression is None:
        return uid_beyond
    value_beyond = "_sort__lt" if down else "_sort__gt"
    if value is None:  # among the rows without the field, which sort last
        if backwards:
            return Q(_sort__isnull=False) | (Q(_sort__isnull=True) & uid_beyond)
        return Q(_sort__isnull=True) & uid_beyond
    seek = Q(**{value_beyond: value}) | (Q(_sort=value) & uid_beyond)
    if not backwards and key.nullable:
        seek |= Q(_sort__isnull=True)
    return seek


# --- /entities/by-refs --------------------------------------------------------------------------


def entities_by_refs(
    refs: list[str], *, filters: list[str], plan: Plan
) -> list[dict[str, Any] | None]:
    """The entities in the order of `refs`, None where none exists (or the filter excludes it).
    References compare case-insensitively, as everywhere in the catalog."""
    wanted = [ref.strip().lower() for ref in refs]
    # A reference with NUL cannot be stored, so it cannot exist (and PostgreSQL refuses it).
    lookup_refs = sorted({r for r in wanted if r and "\x00" not in r})
    qs = plan.queryset()
    if filters:
        qs = qs.filter(parse_filters(filters))
    found: dict[str, Entity] = {}
    for start in range(0, len(lookup_refs), _CHUNK):
        for entity in qs.filter(ref__in=lookup_refs[start : start + _CHUNK]):
            found[entity.ref] = entity
    entities = list(found.values())
    bodies = dict(zip((e.ref for e in entities), serialize(entities, plan), strict=True))
    return [bodies.get(ref) for ref in wanted]


# --- Ancestry -----------------------------------------------------------------------------------


def entity_ancestry(entity: Entity) -> dict[str, Any]:
    """Backstage's ancestry: the entity, then the Location entities whose targets yielded it,
    up to the first one read directly from the registered location (which is not an entity in
    Paved, so the chain ends there)."""
    parents_of: dict[str, list[Entity]] = defaultdict(list)
    if entity.location_id is not None:
        for location_entity in Entity.objects.filter(
            location_id=entity.location_id, kind="Location", processing_errors=[]
        ).only(*_BASE_COLUMNS, "metadata", "spec", "source"):
            for child in _location_children(location_entity):
                parents_of[child].append(location_entity)
    chain: list[tuple[Entity, list[Entity]]] = []
    seen = {entity.pk}
    todo = [entity]
    while todo:
        current = todo.pop(0)
        parents = [p for p in parents_of.get(current.source, []) if p.pk != current.pk]
        chain.append((current, parents))
        for parent in parents:
            if parent.pk not in seen:
                seen.add(parent.pk)
                todo.append(parent)
    bodies = serialize([e for e, _ in chain])
    return {
        "rootEntityRef": _ref(entity),
        "items": [
            {"entity": body, "parentEntityRefs": [_ref(p) for p in parents]}
            for body, (_, parents) in zip(bodies, chain, strict=True)
        ],
    }


def _ref(entity: Entity) -> str:
    return stringify_ref(entity.kind, entity.namespace, entity.name)


def _location_children(location_entity: Entity) -> list[str]:
    """The sources (`type:target`) a Location entity points at, resolved as ingestion does."""
    base_type, _, base_target = location_entity.source.partition(":")
    if base_type not in (FILE, URL, REPO) or not base_target:
        return []
    base = Target(base_type, base_target)
    spec = location_entity.spec or {}
    child_type = spec.get("type") or base.type
    children = []
    for child in [spec.get("target"), *(spec.get("targets") or [])]:
        if not isinstance(child, str) or not child:
            continue
        try:
            if child_type != base.type and child_type in (FILE, URL, REPO):
                children.append(str(Target(child_type, child)))
            else:
                children.append(str(base.resolve(child)))
        except (ReadError, ValueError):
            continue
    return children
