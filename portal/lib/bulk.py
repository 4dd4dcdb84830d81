"""Fast inserts for the catalog and metrics ingestion: PostgreSQL COPY, with ids taken from the
table's sequence in one query (so callers can link rows without reading them back)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from django.db import connection, models
from psycopg.types.json import Jsonb

_SEQUENCES: dict[str, str] = {}


def allocate_ids(model: type[models.Model], n: int) -> list[int]:
    """Take n ids from the table's sequence in one query."""
    meta = model._meta
    with connection.cursor() as cur:
        seq = _SEQUENCES.get(meta.db_table)
        if seq is None:  # looked up once: inside the query it would run for every id
            cur.execute("SELECT pg_get_serial_sequence(%s, %s)", [meta.db_table, meta.pk.column])
            seq = _SEQUENCES[meta.db_table] = cur.fetchone()[0]
        # Without concurrent inserts the ids are one contiguous run: send back its ends only.
        cur.execute(
            "SELECT min(v), max(v), CASE WHEN max(v) - min(v) + 1 = count(*) THEN NULL "
            "ELSE array_agg(v ORDER BY v) END "
            "FROM (SELECT nextval(%s::regclass) AS v FROM generate_series(1, %s)) AS s",
            [seq, n],
        )
        low, high, ids = cur.fetchone()
        return list(range(low, high + 1)) if ids is None else list(ids)


def copy_rows(table: str, columns: list[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY plain tuples into a table."""
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
    model: type[models.Model],
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    *,
    returning: bool = True,
) -> list[int]:
    """Insert plain tuples (values for `columns`, attnames without the pk) and return the new
    pks in order: sequence ids + COPY. No model instances are built: for tens of thousands of
    rows they cost more than the insert."""
    if not rows:
        return []
    meta = model._meta
    by_attname = {f.attname: f for f in meta.concrete_fields}
    json_at = [i for i, c in enumerate(columns) if isinstance(by_attname[c], models.JSONField)]
    names = [str(by_attname[c].column) for c in columns]
    if not returning:  # the column default numbers the rows; nothing to send back
        copy_rows(meta.db_table, names, (_jsonb(list(row), json_at) for row in rows))
        return []
    ids = allocate_ids(model, len(rows))
    copy_rows(
        meta.db_table,
        [str(meta.pk.column), *names],
        (_jsonb([pk, *row], [i + 1 for i in json_at]) for pk, row in zip(ids, rows, strict=True)),
    )
    return ids


def _jsonb(row: list[Any], json_at: list[int]) -> list[Any]:
    for i in json_at:
        v = row[i]
        if v is not None and not isinstance(v, JsonText):
            row[i] = Jsonb(v)
    return row


def pg_execute(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run one statement with server-side parameter binding.

    Django's psycopg cursors bind client-side, which quotes every element of a 100,000-item
    array parameter in Python; bound on the server the arrays go over in binary instead."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description is not None else []
