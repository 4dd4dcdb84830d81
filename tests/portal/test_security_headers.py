"""Security headers on every page: an enforced CSP with per-request nonces, no framing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.lib.redaction import redact, register_secret

pytestmark = pytest.mark.django_db


def test_pages_carry_an_enforced_csp_with_a_fresh_nonce(owner_client: Client) -> None:
    first = owner_client.get("/")
    second = owner_client.get("/")
    policy = first["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    nonce = re.search(r"'nonce-([^']+)'", policy)
    other = re.search(r"'nonce-([^']+)'", second["Content-Security-Policy"])
    assert nonce is not None
    assert other is not None
    assert nonce.group(1) != other.group(1)
    html = first.content.decode()
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts
    assert all(f'nonce="{nonce.group(1)}"' in tag for tag in scripts)
    assert "style=" not in html  # no inline styles: CSP would block them
    assert first["X-Frame-Options"] == "DENY"
    assert first["X-Content-Type-Options"] == "nosniff"


def test_health_endpoints_answer_without_login(client: Client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 302


@settings(max_examples=200, deadline=None)
@given(prefix=st.text(max_size=40), suffix=st.text(max_size=40))
def test_registered_secrets_never_survive_redaction(prefix: str, suffix: str) -> None:
    secret = "s3cr3t-Value-For-Tests-9f8e7d"
    register_secret(secret)
    assert secret not in redact(f"{prefix}{secret}{suffix}")


@pytest.mark.parametrize(
    "text",
    [
        "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 used",
        "postgres://app:hunter2hunter2@db:5432/orders",
        'password="correct horse battery staple"',
        "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXBhcnQ",
    ],
)
def test_token_shaped_strings_are_masked(text: str) -> None:
    masked = redact(text)
    assert "[redacted]" in masked
    for secret in (
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "hunter2hunter2",
        "correct horse",
        "abcdefghijklmnopqrstuvwxyz012345",
        "MIIEow",
        "c2lnbmF0dXJlLXBhcnQ",
    ):
        assert secret not in masked


def test_log_records_are_redacted_by_the_configured_filter() -> None:
    import logging

    from django.conf import settings as django_settings

    from portal.lib.redaction import RedactingFilter

    logging_config: Any = django_settings.LOGGING
    assert "redact" in logging_config["handlers"]["console"]["filters"]
    record = logging.LogRecord(
        "paved", logging.INFO, __file__, 1, "pushing with %s", ("ghp_" + "x" * 36,), None
    )
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == "pushing with [redacted]"
