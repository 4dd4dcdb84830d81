"""What people call catalog entities: display names for references shown on pages."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache
from django.db.models.fields.json import KT

from catalog.models import Entity

_TEAM_NAMES_KEY = "paved:catalog:team-names"
_TEAM_NAMES_SECONDS = 60  # a renamed team shows its new name within a minute


def display_names(refs: Iterable[str]) -> dict[str, str]:
    """ref -> display name (`spec.profile.displayName`, else `metadata.title`, else the name)
    for the given references, in one query; unknown references are left out."""
    wanted = {ref for ref in refs if ref}
    if not wanted:
        return {}
    rows = Entity.objects.filter(ref__in=wanted).values(
        "ref", "name", "title", shown=KT("spec__profile__displayName")
    )
    return {row["ref"]: row["shown"] or row["title"] or row["name"] for row in rows}


def team_names() -> dict[str, str]:
    """Every Group's display name by reference, cached briefly: teams are few, and owners are
    shown on many pages."""
    names: dict[str, str] | None = cache.get(_TEAM_NAMES_KEY)
    if names is None:
        rows = Entity.objects.filter(kind__iexact="group").values(
            "ref", "name", "title", shown=KT("spec__profile__displayName")
        )
        names = {row["ref"]: row["shown"] or row["title"] or row["name"] for row in rows}
        cache.set(_TEAM_NAMES_KEY, names, _TEAM_NAMES_SECONDS)
    return names


def ref_name(ref: str) -> str:
    """A reference as people read it: a team's display name, else the entity's name."""
    text = str(ref or "")
    if text.lower().startswith("group:"):
        shown = team_names().get(text.lower())
        if shown:
            return shown
    return text.rsplit("/", 1)[-1].split(":", 1)[-1] if text else ""
