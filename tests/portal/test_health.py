"""/healthz, /readyz, the friendly 503 page, and `check --deploy` under production settings."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    """A local port nobody listens on (bound, read, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.django_db
def test_healthz_needs_no_login_and_no_dependencies(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_ok_with_database_and_broker(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["problems"] == []
    assert body["database"] == "external"  # make test runs on PostgreSQL and Redis
    assert body["broker"] == "external"


@pytest.fixture
def broker_down() -> Iterator[None]:
    """Point the Celery app's broker at a closed port, through its configuration.

    (broker_write_url: Celery prefers the CELERY_BROKER_URL environment variable, which
    `make test` sets, over `broker_url` in the configuration.)
    """
    saved = celery_app.conf.get("broker_write_url")
    celery_app.conf["broker_write_url"] = f"redis://127.0.0.1:{closed_port()}/0"
    try:
        yield
    finally:
        celery_app.conf["broker_write_url"] = saved


@pytest.mark.django_db
def test_readyz_503_when_broker_unreachable(client: Client, broker_down: None) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert len(body["problems"]) == 1
    assert body["problems"][0].startswith("broker unreachable")


@contextlib.contextmanager
def database_unreachable() -> Iterator[None]:
    """Reconnect the default database connection to a closed port; restore afterwards."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["HOST"] = "127.0.0.1"
    connection.settings_dict["PORT"] = closed_port()
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.fixture
def database_down() -> Iterator[None]:
    with database_unreachable():
        yield


@pytest.mark.django_db(transaction=True)
def test_readyz_503_when_database_unreachable(client: Client, database_down: None) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    problems = response.json()["problems"]
    assert [p.split(":")[0] for p in problems] == ["database unreachable"]


@pytest.mark.django_db(transaction=True)
def test_friendly_503_page_when_database_is_down(owner) -> None:
    client = Client(raise_request_exception=False)  # as a real server: no re-raising
    client.force_login(owner)  # the session lives in the database, which then goes away
    with database_unreachable():
        response = client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    page = response.content.decode()
    assert "Paved is catching its breath" in page
    assert "Traceback" not in page


@pytest.mark.django_db(transaction=True)
def test_other_errors_still_get_the_500_page(owner, settings) -> None:
    settings.ROOT_URLCONF = "tests.portal.urls_boom"
    client = Client(raise_request_exception=False)
    response = client.get("/boom")
    assert response.status_code == 500
    assert "Something broke on our side" in response.content.decode()


# --- check --deploy -------------------------------------------------------------------------


def _manage_check(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "PAVED_DATA_DIR": str(tmp_path / "data"),
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def production_env(tmp_path: Path) -> dict[str, str]:
    key = tmp_path / "secret_key"
    key.write_text(secrets.token_urlsafe(64))
    return {
        "DATABASE_URL": "postgres://paved@db.internal:5432/paved",
        "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
        "PAVED_SECRET_KEY_FILE": str(key),
        "PAVED_ALLOWED_HOSTS": "paved.example.com",
        "PAVED_CSRF_TRUSTED_ORIGINS": "https://paved.example.com",
        "PAVED_BEHIND_TLS_PROXY": "true",
        "PAVED_OIDC_SERVER_URL": "https://sso.example.com/realms/acme",
        "PAVED_OIDC_CLIENT_ID": "paved",
        "PAVED_OIDC_CLIENT_SECRET": "s3cret-from-the-idp",
        "PAVED_SMTP_HOST": "smtp.example.com",
        "PAVED_SERVICE_HOST_PATTERN": "{name}.{environment}.apps.acme.internal",
    }


def test_check_deploy_clean_under_production_settings(tmp_path: Path) -> None:
    result = _manage_check(production_env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_complains_about_embedded_defaults(tmp_path: Path) -> None:
    result = _manage_check({}, tmp_path)
    assert result.returncode != 0
    out = result.stderr + result.stdout
    for check_id, words in [
        ("paved.E001", "SECRET_KEY was generated"),
        ("paved.E002", "embedded PostgreSQL"),
        ("paved.E003", "filesystem transport"),
    ]:
        assert check_id in out
        assert words in out


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"PAVED_LOCAL_LOGIN": "true"}, "paved.W001"),
        ({"PAVED_DEMO": "true"}, "paved.E006"),
        ({"PAVED_SSO_LOGIN_ON_GET": "true"}, "paved.W002"),
        ({"PAVED_SERVICE_HOST_PATTERN": "{name}.{environment}.apps.example.com"}, "paved.W003"),
        ({"PAVED_OIDC_SERVER_URL": ""}, "paved.E004"),
        ({"PAVED_BEHIND_TLS_PROXY": "false"}, "security.W008"),
        ({"PAVED_SMTP_HOST": ""}, "mail.E001"),
    ],
)
def test_check_deploy_flags_each_production_gap(tmp_path: Path, change, expected) -> None:
    env = {**production_env(tmp_path), **change}
    result = _manage_check(env, tmp_path)
    assert result.returncode != 0
    assert expected in result.stderr + result.stdout
