"""Append audit records from services. The request's IP and session are picked up from the
middleware below, so services need only the actor and what changed."""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest, HttpResponse

from portal.lib.redaction import redact_data
from portal.models import AuditEvent

_current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "paved_current_request", default=None
)


class AuditContextMiddleware:
    """Remember the current request so audit records can say where a change came from."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def _client_ip(request: HttpRequest) -> str | None:
    from django.conf import settings

    if getattr(settings, "PAVED_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def record(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    target: Any = None,
    target_type: str = "",
    target_id: str | int = "",
    target_label: str = "",
    summary: str = "",
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    """Append one audit event. Secrets inside before/after are redacted."""
    if target is not None:
        meta = target._meta
        target_type = target_type or f"{meta.app_label}.{meta.model_name}"
        target_id = target_id or target.pk
        target_label = target_label or str(target)
    request = _current_request.get()
    session_key = ""
    ip = None
    if request is not None:
        ip = _client_ip(request)
        raw_key = getattr(getattr(request, "session", None), "session_key", None) or ""
        if raw_key:
            session_key = hashlib.sha256(raw_key.encode()).hexdigest()[:16]
    user = actor if isinstance(actor, User) else None
    return AuditEvent.objects.create(
        actor=user,
        actor_name=user.get_username() if user else "the platform",
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        target_label=target_label[:300],
        summary=summary,
        before=redact_data(before),
        after=redact_data(after),
        ip_address=ip,
        session_key=session_key,
    )
