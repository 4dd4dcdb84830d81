"""allauth adapters: who may sign up, and what happens on a first SSO sign-in."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers.github.provider import GitHubProvider
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import render

from portal.auth.github import PavedGitHubProvider, github_refusal


class PavedAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Self-registration with a password exists only for local accounts.
        return bool(settings.PAVED_LOCAL_LOGIN and (settings.DEBUG or settings.PAVED_DEMO))

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
        # Whoever the company's identity provider lets through may use the portal (GitHub's
        # sign-ins are limited to the company's organisations in pre_social_login).
        return True

    def get_provider(self, request: HttpRequest, provider: str, client_id: Any = None) -> Any:
        found = super().get_provider(request, provider, client_id=client_id)
        if type(found) is GitHubProvider:
            # Ours: GitHub's URLs from settings (Enterprise Server), organisation check.
            return PavedGitHubProvider(request, app=found.app)
        return found

    def pre_social_login(self, request: HttpRequest, sociallogin: Any) -> None:
        """Runs before any account is created, connected or signed in."""
        if sociallogin.account.provider == "github":
            token = getattr(sociallogin.token, "token", "") or ""
            login = str((sociallogin.account.extra_data or {}).get("login") or "")
            reason = github_refusal(token=token, login=login)
            if reason:
                page = render(
                    request, "socialaccount/github_refused.html", {"reason": reason}, status=403
                )
                raise ImmediateHttpResponse(page)
        super().pre_social_login(request, sociallogin)

    def populate_user(self, request: HttpRequest, sociallogin: Any, data: dict[str, Any]) -> Any:
        user = super().populate_user(request, sociallogin, data)
        claims = sociallogin.account.extra_data or {}
        userinfo = claims.get("userinfo", claims) if isinstance(claims, dict) else {}
        preferred = userinfo.get("preferred_username") or userinfo.get("login")
        if preferred and not user.username:
            user.username = str(preferred)[:150]
        return user
