"""Paved's own docs are served in the portal, sanitised, behind login."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from portal.lib.markdown import render_markdown

pytestmark = pytest.mark.django_db


def test_docs_index_and_pages_render(owner_client: Client) -> None:
    index = owner_client.get("/docs/")
    assert index.status_code == 200
    page = owner_client.get("/docs/runs/")
    assert page.status_code == 200
    assert "<h1" in page.content.decode()
    assert owner_client.get("/docs/no-such-page/").status_code == 404


def test_docs_need_login(client: Client, owner: User) -> None:
    assert client.get("/docs/runs/").status_code == 302


def test_markdown_is_sanitised() -> None:
    html = render_markdown(
        "# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))\n\n"
        '<img src="x" onerror="alert(1)">\n\n## Part\n'
    )
    assert "<script" not in html.html
    assert "javascript:" not in html.html
    assert "onerror" not in html.html
    assert [t["name"] for t in html.toc] == ["Part"]  # h2-h3 make the table of contents


def test_every_link_between_the_docs_opens_a_page_with_that_section(owner_client: Client) -> None:
    """`[runs](runs.md#leases)` in docs/*.md opens /docs/runs/ at the section, never a 404."""
    import re
    from html import unescape

    from portal.docs.views import DOCS_DIR

    checked = 0
    for path in sorted(DOCS_DIR.glob("*.md")):
        page = owner_client.get(f"/docs/{path.stem}/")
        assert page.status_code == 200, path.name
        html = page.content.decode()
        assert ".md" not in "".join(re.findall(r'href="([^"]*)"', html)), path.name
        for href in set(re.findall(r'href="(/docs/[^"]*)"', html)):
            url, _, fragment = unescape(href).partition("#")
            target = owner_client.get(url)
            assert target.status_code == 200, (path.name, href)
            if fragment:
                assert f'id="{fragment}"' in target.content.decode(), (path.name, href)
            checked += 1
    assert checked > 20


def test_the_docs_sidebar_starts_with_getting_started(owner_client: Client) -> None:
    html = owner_client.get("/docs/").content.decode()
    assert html.index("/docs/getting-started/") < html.index("/docs/api/")
