"""Run logs: numbered lines in the database, secrets redacted, shown live on the run page."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import F

from portal.lib.redaction import redact
from runs.models import LogLevel, Run, RunLogLine

MAX_LINE_LENGTH = 8000


def append_log(
    run_id: int, message: str, *, level: str = "INFO", step_id: int | None = None
) -> int:
    """Append one line to a run's log and return its number. Commits on its own."""
    text = redact(str(message))
    if len(text) > MAX_LINE_LENGTH:
        text = text[:MAX_LINE_LENGTH] + " … (truncated)"
    with transaction.atomic():
        # A log line need not wait for the WAL flush (~10 ms each on a slow disk): losing the
        # last lines in a database crash is acceptable; run and step states stay durable.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        Run.objects.filter(pk=run_id).update(log_seq=F("log_seq") + 1)
        seq = Run.objects.filter(pk=run_id).values_list("log_seq", flat=True).get()
        RunLogLine.objects.create(
            run_id=run_id, step_id=step_id, seq=seq, level=level, message=text
        )
    return seq


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

    def warning(self, message: str, *args: Any) -> None:
        self._write(LogLevel.WARNING, message, *args)

    def error(self, message: str, *args: Any) -> None:
        self._write(LogLevel.ERROR, message, *args)
