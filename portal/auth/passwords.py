"""Every password check in Paved goes through `check_password`: the sign-in page (allauth's own
form does the same), Django admin's login and git's HTTP Basic auth. All of them therefore share
allauth's `login_failed` rate limit (ACCOUNT_RATE_LIMITS: per client address and per account),
so guessing a password through admin or git is no easier than through the sign-in page.
"""

from __future__ import annotations

from allauth.account.adapter import get_adapter

# allauth's own limiter (its public wrapper cannot count GET requests); same buckets as sign-in.
from allauth.core.internal import ratelimit
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest


class PasswordRefused(Exception):
    """Not a wrong password: the check itself is refused (too many failures, or passwords are
    turned off). The message says why, in plain words."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


TOO_MANY = "Too many failed login attempts. Try again later."
LOCAL_LOGIN_OFF = "Password sign-in is turned off on this Paved; use your company sign-in."


def check_password(request: HttpRequest, *, username: str, password: str) -> User | None:
    """The active user with this username and password, or None for a wrong one.

    Each check takes one attempt from allauth's `login_failed` buckets (the same cache keys
    allauth's sign-in form uses: per client address and per account); a success gives it back,
    as allauth does, so only failures count. Unlike allauth's own check this also counts GET
    requests, which is how git sends its first Basic-authenticated request."""
    if not settings.PAVED_LOCAL_LOGIN:
        raise PasswordRefused(LOCAL_LOGIN_OFF, code="local_login_disabled")
    adapter = get_adapter(request)
    key = adapter._get_login_attempts_cache_key(request, username=username)
    usage = ratelimit.consume(
        request, app="allauth.account", action="login_failed", key=key, limit_get=True
    )
    if not usage:
        raise PasswordRefused(TOO_MANY, code="too_many_login_attempts")
    user = authenticate(request, username=username, password=password)
    if not isinstance(user, User) or not user.is_active:
        return None
    usage.rollback()
    return user


class RateLimitedAdminLoginForm(AdminAuthenticationForm):
    """Django admin's login form, checking the password through `check_password`."""

    def clean(self) -> dict[str, object]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            if self.request is None:  # admin's login view always passes the request
                raise self.get_invalid_login_error()
            try:
                self.user_cache = check_password(
                    self.request, username=str(username), password=str(password)
                )
            except PasswordRefused as exc:
                raise ValidationError(str(exc), code=exc.code) from None
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data
