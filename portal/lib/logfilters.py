"""Logging filters for Django's request logger."""

from __future__ import annotations

import logging


class ForbiddenWithoutTraceback(logging.Filter):
    """Keep a 403 in the log as one line: a refused request is expected, its traceback is noise
    that hides real errors. Other statuses keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
