"""The one check for pages that are for platform admins (the platform team, `is_staff`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


def is_platform_admin(user: Any) -> bool:
    return bool(getattr(user, "is_staff", False)) and bool(getattr(user, "is_active", False))


def platform_admin_required[**P, R](
    message: str,
) -> Callable[[Callable[Concatenate[HttpRequest, P], R]], Callable[Concatenate[HttpRequest, P], R]]:
    """A view for platform admins only. Anyone else signed in gets the branded 403 page with
    `message` (never a redirect to the admin's sign-in page, which a developer cannot use)."""

    def decorator(
        view: Callable[Concatenate[HttpRequest, P], R],
    ) -> Callable[Concatenate[HttpRequest, P], R]:
        @wraps(view)
        def wrapped(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> R:
            if not is_platform_admin(request.user):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        # Read by tests/security/test_platform_admin_pages.py to find every such page.
        wrapped.platform_admin_only = message  # type: ignore[attr-defined]
        return wrapped

    return decorator
