"""Portal daily active users: one row per signed-in user per day, written at most once a day."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from metrics.models import DailyActiveUser


class DailyActiveUserMiddleware:
    """Records (user, day) after the response; a cache key makes later requests that day free."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if not getattr(settings, "PAVED_RECORD_DAILY_ACTIVE_USERS", True):
            return response
        if user is not None and user.is_authenticated:
            day = timezone.now().date()
            key = f"metrics:dau:{day.isoformat()}:{user.pk}"
            try:
                # cache.add is atomic: only the first request of the day writes.
                if cache.add(key, 1, timeout=60 * 60 * 26):
                    DailyActiveUser.objects.get_or_create(user_id=user.pk, day=day)
            except DatabaseError:
                cache.delete(key)  # try again on the next request
        return response
