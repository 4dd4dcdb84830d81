"""Imported by a worker subprocess (PAVED_EXTRA_STEP_MODULES) to freeze it at a chosen moment.

When the run log gets a line starting with PAVED_TEST_PAUSE_ON, the worker writes the file
PAVED_TEST_PAUSE_MARKER and then sleeps until it is killed: the step has done its side effect
(the line says so) but has not been recorded as succeeded. It happens once per marker file, so
the worker that takes over is not frozen too. The hook is a post_save receiver on RunLogLine:
the real step code runs unchanged."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save

from runs.models import RunLogLine

PREFIX = os.environ.get("PAVED_TEST_PAUSE_ON", "")
MARKER = Path(os.environ.get("PAVED_TEST_PAUSE_MARKER", "/nonexistent/paved-pause-marker"))


def _freeze() -> None:
    MARKER.write_text(str(os.getpid()))
    time.sleep(600)  # the test kills us long before this ends


def _on_log_line(sender: Any, instance: RunLogLine, created: bool, **kwargs: Any) -> None:
    if created and PREFIX and instance.message.startswith(PREFIX) and not MARKER.exists():
        # After the log line's own transaction commits: no lock is held while we hang.
        transaction.on_commit(_freeze)


post_save.connect(_on_log_line, sender=RunLogLine, dispatch_uid="paved-test-pause")
