"""Telling people what waits for them and what happened to their work.

`notify()` writes one row per person (listed at /notifications/, counted in the navigation) and,
once the transaction commits, e-mails those who have an address through Django's e-mail backend
(the console by default; `EMAIL_BACKEND`/`EMAIL_HOST` for real mail). Apps call it from their
services: infra when an approval waits or a request is decided or ready, the run engine when a
run fails or finishes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from portal.models import Notification

logger = logging.getLogger(__name__)


def notify(
    users: Iterable[User | None], *, kind: str, title: str, url: str = "", body: str = ""
) -> list[Notification]:
    """One notification for each distinct person in `users` (None and inactive users skipped)."""
    people = {u.pk: u for u in users if u is not None and u.is_active}
    rows = Notification.objects.bulk_create(
        Notification(user=user, kind=kind, title=title[:300], url=url[:500], body=body)
        for user in people.values()
    )
    mail = [
        (title, f"{body}\n\n{settings.PAVED_BASE_URL}{url}".strip(),
         settings.DEFAULT_FROM_EMAIL, [user.email])
        for user in people.values() if user.email
    ]  # fmt: skip
    if mail:
        transaction.on_commit(lambda: _send(mail))
    return rows


def _send(mail: list[tuple[str, str, str, list[str]]]) -> None:
    for subject, body, sender, to in mail:
        try:
            EmailMessage(subject=subject, body=body, from_email=sender, to=to).send()
        except Exception:  # mail is a courtesy: the notification is in the portal either way
            logger.exception("sending a notification e-mail to %s failed", to)


def unread_for(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Notification]:
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True)


def mark_all_read(user: AbstractBaseUser) -> int:
    return unread_for(user).update(read_at=timezone.now())
