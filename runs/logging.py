"""Run logs: numbered lines in the database, secrets redacted, shown live on the run page."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models.signals import post_save
from django.utils import timezone

from portal.lib.redaction import redact
from runs.models import LogLevel, Run, RunLogLine

MAX_LINE_LENGTH = 8000
# Table names come from the models, never from input.
_APPEND_SQL = (
    "SET LOCAL synchronous_commit TO OFF; "  # noqa: S608
    f"WITH next AS (UPDATE {Run._meta.db_table} SET log_seq = log_seq + %s WHERE id = %s "
    "RETURNING log_seq) "
    f"INSERT INTO {RunLogLine._meta.db_table} (run_id, step_id, seq, level, message, created_at) "
    "SELECT %s, %s, next.log_seq - %s + line.n, %s, line.text, %s "
    "FROM next, unnest(%s::text[]) WITH ORDINALITY AS line(text, n) RETURNING id, seq"
)


def append_log(
    run_id: int, message: str, *, level: str = "INFO", step_id: int | None = None
) -> int:
    """Append one line to a run's log and return its number. Commits on its own."""
    return append_logs(run_id, [message], level=level, step_id=step_id)[0]


def append_logs(
    run_id: int, messages: list[str], *, level: str = "INFO", step_id: int | None = None
) -> list[int]:
    """Append lines to a run's log, numbered in order, and return their numbers. Commits on
    its own."""
    texts = [_clip(redact(str(message))) for message in messages]
    if not texts:
        return []
    # One round trip for all the lines instead of six per line (begin, set, update, select,
    # insert, commit): steps that log a line per file spent most of their time here. Several
    # statements in one string run as one transaction (inside a caller's transaction, as part
    # of it), so SET LOCAL holds for the insert: a log line need not wait for the WAL flush
    # (~10 ms on a slow disk); losing the last lines in a database crash is acceptable, run
    # and step states stay durable.
    created_at = timezone.now()
    n = len(texts)
    with connection.cursor() as cursor:
        cursor.execute(_APPEND_SQL, [n, run_id, run_id, step_id, n, level, created_at, texts])
        cursor.nextset()
        rows = sorted(cursor.fetchall(), key=lambda row: row[1])
    if not rows:
        raise Run.DoesNotExist(f"no run {run_id} to log to")
    for (pk, seq), text in zip(rows, texts, strict=True):
        line = RunLogLine(id=pk, run_id=run_id, step_id=step_id, seq=seq, level=level,
                          message=text, created_at=created_at)  # fmt: skip
        # Receivers of a saved log line still hear of it, as with an ORM save.
        post_save.send(sender=RunLogLine, instance=line, created=True, update_fields=None,
                       raw=False, using=connection.alias)  # fmt: skip
    return [seq for _pk, seq in rows]


def _clip(text: str) -> str:
    if len(text) > MAX_LINE_LENGTH:
        return text[:MAX_LINE_LENGTH] + " … (truncated)"
    return text


class StepLogger:
    """What a step kind uses to talk to the person watching the run page."""

    def __init__(self, run_id: int, step_id: int | None) -> None:
        self.run_id = run_id
        self.step_id = step_id

    def _write(self, level: str, message: str, *args: Any) -> None:
        text = message % args if args else message
        append_log(self.run_id, text, level=level, step_id=self.step_id)

    def debug(self, message: str, *args: Any) -> None:
        self._write(LogLevel.DEBUG, message, *args)

    def info(self, message: str, *args: Any) -> None:
        self._write(LogLevel.INFO, message, *args)

    def info_lines(self, lines: list[str]) -> None:
        """Several INFO lines at once (one database round trip), e.g. one per file."""
        append_logs(self.run_id, lines, level=LogLevel.INFO, step_id=self.step_id)

    def warning(self, message: str, *args: Any) -> None:
        self._write(LogLevel.WARNING, message, *args)

    def error(self, message: str, *args: Any) -> None:
        self._write(LogLevel.ERROR, message, *args)
