"""Paved's own error pages, also on the demo stack, and a 403 logged as one line."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from portal.lib.logfilters import ForbiddenWithoutTraceback

pytestmark = pytest.mark.django_db


def test_unknown_url_shows_the_branded_page_not_the_url_list(
    client: Client, owner: User, settings: Any
) -> None:
    settings.DEBUG = False
    settings.PAVED_DEMO = True  # what `make run` sets (it no longer turns DEBUG on)
    client.force_login(owner)
    response = client.get("/docs/runs.md/nowhere")
    assert response.status_code == 404
    page = response.content.decode()
    assert "There is nothing here" in page
    assert 'aria-label="Main"' in page  # the portal's navigation: a way back
    assert "URLconf" not in page
    assert "URL patterns" not in page
    assert "admin/" not in page


def test_a_403_is_logged_as_one_line_without_traceback(
    client: Client, owner: User, caplog: pytest.LogCaptureFixture
) -> None:
    client.force_login(owner)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/audit/").status_code == 403
    forbidden = [r for r in caplog.records if r.name == "django.request"]
    assert forbidden, "the refusal is still logged"
    assert all(r.exc_info is None for r in forbidden)
    assert "Traceback" not in caplog.text


def test_other_errors_keep_their_traceback() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        record = logging.LogRecord("django.request", 40, "x", 1, "m", (), sys.exc_info())
    record.status_code = 500
    assert ForbiddenWithoutTraceback().filter(record)
    assert record.exc_info is not None


def test_favicon_ico_is_the_icon_for_everyone(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("paved/favicon.svg")
