"""What people call catalog entities: display names for references shown on pages."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from django.core.signals import request_finished, request_started
from django.db.models.fields.json import KT

from catalog.models import Entity

# Team names are read once per request (one small query), whatever the number of rows shown.
_memo = threading.local()


def _forget(**_kwargs: Any) -> None:
    _memo.__dict__.pop("team_names", None)


request_started.connect(_forget, dispatch_uid="catalog.names.forget-start")
request_finished.connect(_forget, dispatch_uid="catalog.names.forget-finish")


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
    """Every Group's display name by reference, read once per request: teams are few, and
    owners are shown in many rows."""
    names: dict[str, str] | None = getattr(_memo, "team_names", None)
    if names is None:
        rows = Entity.objects.filter(kind__iexact="group").values(
            "ref", "name", "title", shown=KT("spec__profile__displayName")
        )
        names = {row["ref"]: row["shown"] or row["title"] or row["name"] for row in rows}
        _memo.team_names = names
    return names


def ref_name(ref: str) -> str:
    """A reference as people read it: a team's display name, else the entity's name."""
    text = str(ref or "")
    if text.lower().startswith("group:"):
        shown = team_names().get(text.lower())
        if shown:
            return shown
    return text.rsplit("/", 1)[-1].split(":", 1)[-1] if text else ""
