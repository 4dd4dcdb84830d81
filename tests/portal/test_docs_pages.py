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
