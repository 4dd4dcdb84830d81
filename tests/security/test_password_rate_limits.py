"""Guessing passwords through Django admin's login or git's HTTP Basic auth: the sign-in page's
failed-password limit (ACCOUNT_RATE_LIMITS["login_failed"], 5 per account per 5 minutes) applies
to every password check, so after N wrong passwords even the right one is refused."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from portal.providers.local_git.provider import LocalGitHost

pytestmark = pytest.mark.django_db

RIGHT = "correct-horse-9"
ATTEMPTS = 5  # the "5/5m/key" part of ACCOUNT_RATE_LIMITS["login_failed"]


@pytest.fixture(autouse=True)
def _fresh_limits(settings: Any) -> Iterator[None]:
    settings.PAVED_LOCAL_LOGIN = True
    # A fast hasher (Django's advice for tests): the limit, not the hashing, is under test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def admin_user() -> User:
    return User.objects.create_user("root", "root@example.com", RIGHT, is_staff=True,
                                    is_superuser=True)  # fmt: skip


def _admin_login(client: Client, password: str) -> Any:
    return client.post("/admin/login/", {"username": "root", "password": password,
                                         "next": "/admin/"})  # fmt: skip


def test_admin_login_is_rate_limited_after_wrong_passwords(admin_user: User) -> None:
    client = Client()
    for _ in range(ATTEMPTS):
        response = _admin_login(client, "wrong")
        assert response.status_code == 200
        assert "Please enter the correct username and password" in response.content.decode()
    response = _admin_login(client, RIGHT)
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The limit is per account: another browser (say, another address) is refused as well.
    other = Client(REMOTE_ADDR="10.9.8.7")
    assert "Too many failed login attempts" in _admin_login(other, RIGHT).content.decode()
    assert "_auth_user_id" not in other.session


def test_admin_and_sign_in_page_share_one_counter(admin_user: User) -> None:
    client = Client()
    for _ in range(3):
        client.post("/accounts/login/", {"login": "root", "password": "wrong"})
    for _ in range(ATTEMPTS - 3):
        _admin_login(client, "wrong")
    page = client.post("/accounts/login/", {"login": "root", "password": RIGHT}).content.decode()
    assert "Too many failed login attempts" in page
    assert "_auth_user_id" not in client.session


def test_a_right_password_before_the_limit_still_works(admin_user: User) -> None:
    client = Client()
    for _ in range(ATTEMPTS - 1):
        _admin_login(client, "wrong")
    assert _admin_login(client, RIGHT).status_code == 302
    assert int(client.session["_auth_user_id"]) == admin_user.pk


@pytest.fixture
def repo(tmp_path: Path, settings: Any) -> str:
    settings.PAVED_GIT_LOCAL_ROOT = str(tmp_path / "git")
    host = LocalGitHost()
    ref, _ = host.ensure_repository("team-orders", "orders-api", private=False)
    host.commit_files(ref, {"README.md": b"# hi\n"}, message="scaffold")
    return "/git/team-orders/orders-api.git/info/refs?service=git-upload-pack"


def _basic(username: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def test_git_basic_auth_is_rate_limited_after_wrong_passwords(repo: str, owner: User) -> None:
    client = Client()
    assert client.get(repo, headers=_basic("olivia", "pw-for-tests-1")).status_code == 200
    for _ in range(ATTEMPTS):
        response = client.get(repo, headers=_basic("olivia", "guess"))
        assert response.status_code == 401
    refused = client.get(repo, headers=_basic("olivia", "pw-for-tests-1"))
    assert refused.status_code == 429
    assert "Too many failed login attempts" in refused.content.decode()
    assert b"# service=git-upload-pack" not in refused.content  # no refs were served
    # ...and the admin login of that account is now refused too: one counter per account.
    page = Client().post("/admin/login/", {"username": "olivia", "password": "pw-for-tests-1"})
    assert "Too many failed login attempts" in page.content.decode()


def test_git_basic_auth_per_address_limit(repo: str, owner: User) -> None:
    """Spraying one password over many accounts from one address hits the per-address limit
    ("10/m/ip")."""
    client = Client()
    for i in range(10):
        assert client.get(repo, headers=_basic(f"user{i}", "Summer2026!")).status_code == 401
    refused = client.get(repo, headers=_basic("olivia", "pw-for-tests-1"))
    assert refused.status_code == 429
