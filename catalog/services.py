"""Catalog use cases that other apps rely on: who a user is in the catalog, and their teams."""

from __future__ import annotations

import logging

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q

from catalog.models import Entity, Relation

logger = logging.getLogger(__name__)


def link_user_to_catalog(user: User) -> Entity | None:
    """Attach a portal account to the catalog User with the same email or name, once."""
    existing = Entity.objects.filter(kind__iexact="user", user=user).first()
    if existing is not None:
        return existing
    email = (getattr(user, "email", "") or "").strip().lower()
    username = user.get_username().strip().lower()
    match = Q(name__iexact=username)
    if email:
        match |= Q(spec__profile__email__iexact=email)
        match |= Q(name__iexact=email.split("@")[0])
    candidate = (
        Entity.objects.filter(kind__iexact="user", user__isnull=True).filter(match).order_by("id")
    )
    # Prefer an exact e-mail match, then the username.
    chosen = None
    for entity in candidate[:5]:
        profile_email = str((entity.spec.get("profile") or {}).get("email", "")).lower()
        if email and profile_email == email:
            chosen = entity
            break
        chosen = chosen or entity
    if chosen is None:
        return None
    chosen.user = user
    chosen.save(update_fields=["user"])
    logger.info("linked account %s to catalog entity %s", username, chosen.ref)
    return chosen


def group_refs_for_user(user: User | AnonymousUser) -> set[str]:
    """References of the catalog groups the user is a member of (memberOf relations)."""
    if not user.is_authenticated:
        return set()
    cached: set[str] | None = getattr(user, "_paved_group_refs", None)
    if cached is not None:
        return cached
    refs = set(
        Relation.objects.filter(
            source__user=user, source__kind__iexact="user", type="memberOf"
        ).values_list("target_ref", flat=True)
    )
    user._paved_group_refs = refs  # type: ignore[attr-defined]
    return refs
