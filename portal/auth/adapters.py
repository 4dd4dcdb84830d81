"""allauth adapters: who may sign up, and what happens on a first SSO sign-in."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest


class PavedAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Self-registration with a password exists only for local accounts.
        return bool(settings.PAVED_LOCAL_LOGIN and settings.DEBUG)

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        # Say why a password is refused, instead of "wrong password", when local login is off.
        if "password" in credentials and not settings.PAVED_LOCAL_LOGIN:
            raise ValidationError(
                "Password sign-in is turned off on this Paved; use your company sign-in.",
                code="local_login_disabled",
            )
        super().pre_authenticate(request, **credentials)


class PavedSocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        # Whoever the company's identity provider lets through may use the portal.
        return True

    def populate_user(self, request: HttpRequest, sociallogin: Any, data: dict[str, Any]) -> Any:
        user = super().populate_user(request, sociallogin, data)
        claims = sociallogin.account.extra_data or {}
        userinfo = claims.get("userinfo", claims) if isinstance(claims, dict) else {}
        preferred = userinfo.get("preferred_username") or userinfo.get("login")
        if preferred and not user.username:
            user.username = str(preferred)[:150]
        return user
