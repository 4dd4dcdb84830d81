"""Fast inserts for ingestion: PostgreSQL COPY with ids taken from the table's sequence in one
query (so callers can link rows without reading them back); bulk_create elsewhere."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection, models
from psycopg.types.json import Jsonb


def _converter(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    if isinstance(field, models.JSONField):
        return lambda v: None if v is None else Jsonb(v)
    return None  # str, int, bool, datetime and FK ids are sent as they are


def copy_insert(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert new rows and set their pk. Unique violations raise IntegrityError like INSERT."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs, batch_size=2000)
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    convert = [(f.attname, _converter(f)) for f in fields]
    ids = allocate_ids(model, len(objs))
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False

    def rows() -> Iterable[list[Any]]:
        for obj in objs:
            d = obj.__dict__
            yield [obj.pk, *(c(d[a]) if c else d[a] for a, c in convert)]

    copy_rows(meta.db_table, [str(meta.pk.column), *(str(f.column) for f in fields)], rows())


def allocate_ids(model: type[models.Model], n: int) -> list[int]:
    """Take n ids from the table's sequence in one query (PostgreSQL)."""
    meta = model._meta
    with connection.cursor() as cur:
        cur.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, n],
        )
        return [row[0] for row in cur.fetchall()]


def copy_rows(table: str, columns: list[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY plain tuples into a table (PostgreSQL only)."""
    q = connection.ops.quote_name
    with connection.cursor() as cur:
        raw = cur.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {q(table)} ({', '.join(q(c) for c in columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


class JsonText(str):
    """JSON that is already serialized (e.g. the line an event arrived as): PostgreSQL's COPY
    stores the text as it is, so a payload is not parsed and dumped twice."""


def insert_rows(
    model: type[models.Model], columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> list[int]:
    """Insert plain tuples (values for `columns`, attnames without the pk) and return the new
    pks in order. PostgreSQL: sequence ids + COPY; elsewhere bulk_create. Model instances are
    not built on the fast path: for tens of thousands of rows they cost more than the insert."""
    if not rows:
        return []
    meta = model._meta
    if connection.vendor != "postgresql":
        objs = []
        for row in rows:
            values = {
                c: json.loads(v) if isinstance(v, JsonText) else v
                for c, v in zip(columns, row, strict=True)
            }
            objs.append(model(**values))
        model._default_manager.bulk_create(objs, batch_size=2000)
        return [int(o.pk) for o in objs]
    by_attname = {f.attname: f for f in meta.concrete_fields}
    json_at = [i for i, c in enumerate(columns) if isinstance(by_attname[c], models.JSONField)]
    ids = allocate_ids(model, len(rows))

    def tuples() -> Iterable[list[Any]]:
        for pk, row in zip(ids, rows, strict=True):
            out = [pk, *row]
            for i in json_at:
                v = row[i]
                if v is not None and not isinstance(v, JsonText):
                    out[i + 1] = Jsonb(v)
            yield out

    copy_rows(
        meta.db_table,
        [str(meta.pk.column), *(str(by_attname[c].column) for c in columns)],
        tuples(),
    )
    return ids
