"""API and integration tokens: one model (`ApiToken`), one hashing, one bearer parser.

The plain token is returned once, when it is created; only its SHA-256 hash is kept. Checking a
token costs one indexed read: `last_used_at` is written at most once a minute per token, so a
busy client does not pay a write and a commit on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import User
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from catalog.models import ApiToken

PREFIX = "pvd_"
PREFIX_LENGTH = 12
# How stale `last_used_at` may be: enough to tell a token in use from a forgotten one.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(raw.encode()).hexdigest()


def bearer_token(request: HttpRequest, *extra_headers: str) -> str | None:
    """The token of `Authorization: Bearer <token>`, else of the first of `extra_headers` that
    is set (some senders cannot set Authorization). None when no token was sent at all; ""
    when the Bearer header is there but empty (a wrong token, not a missing one)."""
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    for name in extra_headers:
        value = request.headers.get(name, "").strip()
        if value:
            return value
    return None


def create_token(
    *,
    name: str,
    scope: str,
    user: User | None = None,
    can_write: bool = False,
    actor: object = None,
) -> tuple[ApiToken, str]:
    """Issue a token; returns the row and the plain token, which is never stored."""
    token = ApiToken(name=name, scope=scope, user=user, can_write=can_write)
    return token, issue(token, actor=actor)


def issue(token: ApiToken, *, actor: object = None) -> str:
    """Give an unsaved token its secret, save it, and return the plain value (shown once)."""
    raw = PREFIX + secrets.token_urlsafe(32)
    token.prefix = raw[:PREFIX_LENGTH]
    token.token_hash = hash_token(raw)
    token.created_by = actor if getattr(actor, "pk", None) else None  # type: ignore[assignment]
    token.full_clean(exclude=["token_hash", "prefix"])
    token.save()
    return raw


def revoke_token(*, token: ApiToken, actor: object = None) -> None:
    """Revoke a token from now on (revoking twice keeps the first time)."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def authenticate(raw: str, *, scope: str) -> ApiToken | None:
    """The active token of this scope whose hash matches, with its user; None otherwise
    (also for a catalog token whose user was deactivated)."""
    if not raw:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_token(raw), scope=scope, revoked_at__isnull=True)
        .first()
    )
    if token is None or (token.user is not None and not token.user.is_active):
        return None
    _touch(token)
    return token


def _touch(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    # Conditional, so concurrent requests of one token write it once.
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    token.last_used_at = now
