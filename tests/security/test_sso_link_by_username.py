"""An SSO account must link to a catalog person only by an exact, verified e-mail address.

The attack: someone signs in through the company IdP (or a second one) with a username or an
e-mail local part equal to a catalog person's name, and is handed that person's teams."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import oidc_provider_mock
import pytest
import requests
from django.contrib.auth.models import User
from django.test import Client

from catalog.models import Entity, Relation
from catalog.queries import group_refs_for_user
from tests.conftest import make_group
from tests.portal.test_auth import _sso_sign_in, settings_from_env

pytestmark = pytest.mark.django_db


@pytest.fixture
def oidc_settings(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real OpenID Connect provider on loopback, configured as an operator would."""
    with oidc_provider_mock.run_server_in_thread() as server:
        url = f"http://127.0.0.1:{server.server_port}"
        built = settings_from_env(
            monkeypatch,
            PAVED_OIDC_SERVER_URL=url,
            PAVED_OIDC_CLIENT_ID="paved-portal",
            PAVED_OIDC_CLIENT_SECRET="paved-portal-secret",
            PAVED_OIDC_NAME="Acme SSO",
        )
        settings.SOCIALACCOUNT_PROVIDERS = built["SOCIALACCOUNT_PROVIDERS"]
        settings.PAVED_LOCAL_LOGIN = False
        yield url


@pytest.fixture
def erin() -> Entity:
    """A catalog person in team-orders, not yet linked to any account."""
    team = make_group("team-orders")
    person = Entity.objects.create(
        kind="User", name="erin", spec={"profile": {"email": "erin@example.com"}}
    )
    Relation.objects.create(source=person, type="memberOf", target_ref=team.ref, target=team)
    return person


def _idp_user(server: str, sub: str, **claims: Any) -> None:
    requests.put(f"{server}/users/{sub}", json=claims, timeout=10).raise_for_status()


def _signed_in_user(client: Client) -> User:
    return User.objects.get(pk=client.session["_auth_user_id"])


def _assert_not_linked_and_told(client: Client, erin: Entity) -> None:
    user = _signed_in_user(client)
    erin.refresh_from_db()
    assert erin.user_id is None
    assert not Entity.objects.filter(user=user).exists()
    assert group_refs_for_user(User.objects.get(pk=user.pk)) == set()
    home = client.get("/")
    assert home.status_code == 200
    page = home.content.decode()
    assert "Your account is not linked to a person in the catalog" in page
    assert "Paved does not know your teams" in page


def test_sso_username_equal_to_a_catalog_name_does_not_link(
    oidc_settings: str, erin: Entity
) -> None:
    _idp_user(oidc_settings, "x1", preferred_username="erin", email="mallory@example.com",
              email_verified=True)  # fmt: skip
    client = Client()
    assert _sso_sign_in(client, oidc_settings, "x1").status_code == 302
    assert _signed_in_user(client).username == "erin"  # the IdP's name, but no catalog link
    _assert_not_linked_and_told(client, erin)
    assert "mallory@example.com" in client.get("/").content.decode()


def test_sso_email_local_part_equal_to_a_catalog_name_does_not_link(
    oidc_settings: str, erin: Entity
) -> None:
    _idp_user(oidc_settings, "x2", preferred_username="m2", email="erin@evil.example",
              email_verified=True)  # fmt: skip
    client = Client()
    assert _sso_sign_in(client, oidc_settings, "x2").status_code == 302
    _assert_not_linked_and_told(client, erin)


def test_sso_unverified_email_equal_to_a_catalog_email_does_not_link(
    oidc_settings: str, erin: Entity
) -> None:
    _idp_user(oidc_settings, "x3", preferred_username="m3", email="erin@example.com",
              email_verified=False)  # fmt: skip
    client = Client()
    assert _sso_sign_in(client, oidc_settings, "x3").status_code == 302
    _assert_not_linked_and_told(client, erin)
    assert "is not verified" in client.get("/").content.decode()


def test_local_account_with_the_same_name_and_an_unverified_email_does_not_link(
    client: Client, settings: Any, erin: Entity
) -> None:
    """A password account (self-registered or made by an admin) proves nothing about its
    address: signing in does not hand it erin's teams."""
    settings.PAVED_LOCAL_LOGIN = True
    User.objects.create_user("erin", "erin@example.com", "pw-for-tests-1")
    response = client.post("/accounts/login/", {"login": "erin", "password": "pw-for-tests-1"})
    assert response.status_code == 302
    _assert_not_linked_and_told(client, erin)


def test_verified_email_links_whatever_its_case(oidc_settings: str, erin: Entity) -> None:
    _idp_user(oidc_settings, "erin-sso", preferred_username="someone-else",
              email="Erin@EXAMPLE.com", email_verified=True)  # fmt: skip
    client = Client()
    assert _sso_sign_in(client, oidc_settings, "erin-sso").status_code == 302
    erin.refresh_from_db()
    assert erin.user == _signed_in_user(client)
    assert group_refs_for_user(User.objects.get(pk=erin.user_id)) == {"group:default/team-orders"}
    assert "not linked" not in client.get("/").content.decode()
