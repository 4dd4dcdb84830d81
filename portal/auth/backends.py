"""Password sign-in only when local accounts are enabled; sessions keep working either way."""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.http import HttpRequest


class LocalModelBackend(ModelBackend):
    """Django's backend (used by admin's login form) refusing passwords unless enabled."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not settings.PAVED_LOCAL_LOGIN:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class PavedAuthenticationBackend(AuthenticationBackend):
    """allauth's backend: SSO logins pass through; password checks only with local login on."""

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> Any:
        if "password" in credentials and not settings.PAVED_LOCAL_LOGIN:
            return None
        return super().authenticate(request, **credentials)
