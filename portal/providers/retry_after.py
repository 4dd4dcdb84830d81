"""The one Retry-After parser every provider uses, so a vendor answering with an HTTP date
waits as long as one answering with seconds."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime


def parse_retry_after(value: object) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP date (RFC 9110
    §10.2.3). None when absent or unreadable; never negative."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(text).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
