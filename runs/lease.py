"""Step leases: how long they are, and the heartbeat that keeps a live step's lease fresh.

Every lease is `PAVED_STEP_LEASE_SECONDS` times the step kind's `lease_multiple`. While a step
works, a background thread of its worker extends the lease every third of it, so the lease can be
short (a crashed worker's step is taken over soon) without another worker stealing live work. A
killed worker's thread dies with it; a hung step stops being extended after the task time limit.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import timedelta
from types import TracebackType

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from runs.models import Step, StepStatus
from runs.registry import StepKind

logger = logging.getLogger(__name__)

# The heartbeat never waits less than this between two extensions (tests use 1-3 s leases).
MIN_BEAT_SECONDS = 0.2


def lease_seconds(kind: type[StepKind] | None) -> int:
    """The lease of a step of this kind (None: a kind that is not registered)."""
    multiple = kind.lease_multiple if kind is not None else 1
    return int(settings.PAVED_STEP_LEASE_SECONDS) * multiple


def extend_lease(step_id: int, token: str, seconds: int) -> bool:
    """Push the lease of a step we still hold `seconds` into the future. False: not ours."""
    return bool(
        Step.objects.filter(pk=step_id, status=StepStatus.RUNNING, claimed_by=token).update(
            lease_expires_at=timezone.now() + timedelta(seconds=seconds)
        )
    )


class LeaseKeeper:
    """`with LeaseKeeper(...)`: extend the step's lease from a thread while the block runs."""

    def __init__(self, step_id: int, token: str, seconds: int) -> None:
        self.step_id = step_id
        self.token = token
        self.seconds = seconds
        # A step may hold its lease at most as long as a task may run: a step stuck past
        # that (the threads pool enforces no time limit) is left to be taken over.
        self.max_seconds = float(settings.CELERY_TASK_TIME_LIMIT)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"lease-step-{step_id}", daemon=True
        )

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _beat(self) -> None:
        interval = max(self.seconds / 3, MIN_BEAT_SECONDS)
        deadline = time.monotonic() + self.max_seconds
        try:
            while not self._stop.wait(interval):
                if time.monotonic() > deadline:
                    logger.warning(
                        "step %s ran longer than the task time limit (%d s); its lease is no "
                        "longer extended and another worker may take it over",
                        self.step_id,
                        int(self.max_seconds),
                    )
                    return
                try:
                    if not extend_lease(self.step_id, self.token, self.seconds):
                        return  # finished, taken over or cancelled: nothing left to keep
                except DatabaseError as exc:
                    # The database went away; try again at the next beat. If it stays away
                    # longer than the lease, recovery hands the step to another worker.
                    logger.warning(
                        "could not extend the lease of step %s: %s",
                        self.step_id,
                        str(exc).strip().splitlines()[0] if str(exc).strip() else exc,
                    )
                    with contextlib.suppress(DatabaseError):
                        connection.close()
        finally:
            with contextlib.suppress(DatabaseError):
                connection.close()  # this thread's own connection
