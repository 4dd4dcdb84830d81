"""Pages for platform admins: one decorator guards them all, and a developer gets the branded
403 page with a plain reason, never a redirect to the admin's sign-in page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]

# (url, what the 403 page says); every page carrying the decorator must be listed here.
PAGES = {
    "/audit/": "Only platform admins may read the audit trail.",
    "/audit/export.csv": "Only platform admins may read the audit trail.",
    "/create/editor/": "The template editor is for the platform team.",
    "/metrics/unlinked/": "The unlinked events are for the platform team.",
    "/metrics/survey/results/": "Survey results are for the platform team.",
}
# POST-only pages: (route, a URL of it, what the 403 page says).
POST_PAGES = [
    (
        "upgrades/rollout/<int:version_id>",
        "/upgrades/rollout/1",
        "Rolling a template version out to services is for the platform team.",
    ),
]


def _patterns(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def test_every_decorated_page_is_listed() -> None:
    guarded = {
        route for route, view in _patterns(get_resolver()) if hasattr(view, "platform_admin_only")
    }
    listed = {re.sub(r"export\.csv$", "export.<str:fmt>", url.lstrip("/")) for url in PAGES}
    assert guarded == listed | {route for route, _, _ in POST_PAGES}


@pytest.mark.parametrize(("url", "reason"), sorted(PAGES.items()))
def test_a_developer_gets_the_403_page(client: Client, owner: User, url: str, reason: str) -> None:
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 403
    body = response.content.decode()
    assert reason in body
    assert "Not allowed" in body  # the branded page, not Django's plain one
    assert "Location" not in response


@pytest.mark.parametrize("url", sorted(PAGES))
def test_a_platform_admin_gets_the_page(client: Client, platform_admin: User, url: str) -> None:
    client.force_login(platform_admin)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize(("route", "url", "reason"), POST_PAGES)
def test_a_developer_gets_the_403_page_on_a_post(
    client: Client, owner: User, route: str, url: str, reason: str
) -> None:
    client.force_login(owner)
    response = client.post(url)
    assert response.status_code == 403
    body = response.content.decode()
    assert reason in body
    assert "Not allowed" in body
    assert "Location" not in response


def test_no_view_checks_is_staff_inline() -> None:
    """Views and their URL modules use the decorator; `is_staff` in a view is a second rule."""
    offenders = [
        str(path.relative_to(ROOT))
        for app in ("portal", "catalog", "scaffolder", "infra", "metrics")
        for path in (ROOT / app).rglob("*views*.py")
        if re.search(r"is_staff|staff_member_required|user_passes_test", path.read_text())
    ]
    assert offenders == []
