"""The home page's sections. Each domain app registers its own section in `AppConfig.ready()`,
so the portal package never imports the apps built on top of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class HomeSection:
    """One card on the home page: a title, rows to show, and where to go when it is empty."""

    key: str
    title: str
    order: int
    template: str
    loader: Callable[[User | AnonymousUser], dict[str, Any]]
    empty_text: str = ""
    empty_action_urlname: str = ""
    empty_action_label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_SECTIONS: dict[str, HomeSection] = {}
# Plain sentences shown above the cards (e.g. "your account is not linked to the catalog").
Notice = Callable[[User | AnonymousUser], str]
_NOTICES: dict[str, Notice] = {}


def register_section(section: HomeSection) -> None:
    _SECTIONS[section.key] = section


def register_notice(key: str, notice: Notice) -> None:
    _NOTICES[key] = notice


def _url_or_empty(name: str) -> str:
    if not name:
        return ""
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


def home_sections(user: User | AnonymousUser) -> dict[str, Any]:
    sections = []
    for section in sorted(_SECTIONS.values(), key=lambda s: s.order):
        sections.append(
            {
                "section": section,
                "empty_action_url": _url_or_empty(section.empty_action_urlname),
                **section.loader(user),
            }
        )
    notices = [text for text in (notice(user) for notice in _NOTICES.values()) if text]
    return {"sections": sections, "notices": notices}
