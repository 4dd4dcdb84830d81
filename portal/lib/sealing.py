"""Seal short-lived secret values (wizard state, a run's secret parameters) with the site key.

Fernet (AES-128-CBC + HMAC-SHA256) keyed from SECRET_KEY, so every web process and worker that
shares the settings can open what another sealed; SECRET_KEY_FALLBACKS keep values sealed
before a key rotation readable. Nothing sealed here is meant to live longer than a failed run
waiting for its retry.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

_PURPOSE = b"paved.sealing.v1:"


class SealBroken(ValueError):
    """The sealed text was tampered with, expired, or sealed with an unknown key."""


def _fernet_for(key: str | bytes) -> Fernet:
    raw = key.encode() if isinstance(key, str) else key
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(_PURPOSE + raw).digest()))


def _keyring() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet_for(key) for key in keys])


def seal(value: Any) -> str:
    """Encrypt any JSON-serialisable value into an opaque text token."""
    return _keyring().encrypt(json.dumps(value).encode()).decode()


def unseal(token: str, *, max_age_seconds: int | None = None) -> Any:
    """Open a token made by `seal`; raises SealBroken when it cannot be trusted."""
    try:
        data = _keyring().decrypt(token.encode(), ttl=max_age_seconds)
    except (InvalidToken, ValueError, TypeError) as exc:
        raise SealBroken("the sealed value is invalid, expired or from another key") from exc
    return json.loads(data)
