"""Link portal accounts to catalog users when they sign in (SSO or local)."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import user_logged_in, user_signed_up
from django.dispatch import receiver

from catalog.services import link_user_to_catalog


@receiver(user_signed_up)
def link_on_signup(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    link_user_to_catalog(user)


@receiver(user_logged_in)
def link_on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    link_user_to_catalog(user)
