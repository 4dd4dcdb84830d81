"""Keep secrets out of logs, run pages and audit records.

Two layers: exact values registered at start-up (every ``env_secret`` and provider credential),
and patterns for well-known token shapes that might come back from outside systems.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

MASK = "[redacted]"
_MIN_SECRET_LENGTH = 6
_known_secrets: set[str] = set()
# Values a user typed into a secret field, masked only while their run's work is on this
# thread/task (they must not pile up in the process-wide set).
_MIN_SCOPED_SECRET_LENGTH = 4
_scoped_secrets: ContextVar[tuple[str, ...]] = ContextVar("paved_scoped_secrets", default=())

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # PEM private keys, whole block.
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL
        ),
        MASK,
    ),
    # GitHub tokens: classic, fine-grained, app installation, OAuth, refresh.
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b"), MASK),
    # Slack tokens and webhooks.
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), MASK),
    (re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/]+"), MASK),
    # AWS access key ids.
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), MASK),
    # JWTs (three base64url segments).
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"), MASK),
    # Authorization headers.
    (re.compile(r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{12,}"), r"\1 " + MASK),
    # Passwords inside URLs: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+:)([^@\s/]+)(@)"), r"\1" + MASK + r"\3"),
    # key=value / "key": "value" pairs whose key names a secret.
    (
        re.compile(
            r"(?i)([\"']?\b[\w-]*(?:password|passwd|secret|token|api[_-]?key|private[_-]?key)[\w-]*[\"']?\s*[:=]\s*[\"']?)([^\s\"',;}&]{4,})"
        ),
        r"\1" + MASK,
    ),
]


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it is masked wherever it shows up."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        _known_secrets.add(value)


@contextmanager
def redacting(values: Iterable[Any]) -> Iterator[None]:
    """Also mask these values (e.g. a run's secret parameters) inside the `with` block."""
    extra = {str(v) for v in values if v is not None and len(str(v)) >= _MIN_SCOPED_SECRET_LENGTH}
    token = _scoped_secrets.set(tuple(sorted({*_scoped_secrets.get(), *extra})))
    try:
        yield
    finally:
        _scoped_secrets.reset(token)


def redact(text: str) -> str:
    """Return ``text`` with every known secret and token-shaped string masked."""
    if not text:
        return text
    for secret in sorted({*_known_secrets, *_scoped_secrets.get()}, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_data(value: Any) -> Any:
    """Redact every string inside a JSON-like structure (for step inputs shown on pages)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_data(item) for item in value]
    if isinstance(value, dict):
        return {key: redact_data(item) for key, item in value.items()}
    return value


class RedactingFilter(logging.Filter):
    """Logging filter that renders the message once and masks secrets in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the log line
            message = str(record.msg)
        redacted = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.msg = redacted
        record.args = None
        return True
