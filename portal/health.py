"""Whether the database and the Celery broker answer, for /readyz and for pages that depend on
the workers (a run page says its run waits for the workers while the broker is unreachable)."""

from __future__ import annotations

import threading
import time

from django.db import connection

# A page polled every second asks at most this often; /readyz always asks afresh.
BROKER_CHECK_TTL_SECONDS = 5.0

_lock = threading.Lock()
_last_check: tuple[float, str | None] = (0.0, None)


def database_problem() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"database unreachable: {exc.__class__.__name__}"
    return None


def broker_problem() -> str | None:
    """None when the broker accepts a connection, else one line saying it does not."""
    global _last_check
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        problem: str | None = f"broker unreachable: {exc.__class__.__name__}"
    else:
        problem = None
    with _lock:
        _last_check = (time.monotonic(), problem)
    return problem


def recent_broker_problem() -> str | None:
    """broker_problem(), answered from a check made in the last few seconds when there is one."""
    with _lock:
        checked_at, problem = _last_check
    if checked_at and time.monotonic() - checked_at < BROKER_CHECK_TTL_SECONDS:
        return problem
    return broker_problem()
