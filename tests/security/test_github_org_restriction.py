"""GitHub OAuth lets any GitHub user through: Paved must admit only members of the configured
organisations (and teams). Replayed against a loopback fake of GitHub's OAuth and REST
endpoints, through Paved's real sign-in pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.models import User
from django.test import Client

from portal.checks import check_production_components
from tests.fakes.github_oauth import FakeGitHubOAuth
from tests.portal.test_auth import _form_for, settings_from_env

pytestmark = pytest.mark.django_db


@pytest.fixture
def github() -> Iterator[FakeGitHubOAuth]:
    fake = FakeGitHubOAuth()
    fake.start()
    fake.add_user("ada", "ada@acme.example", orgs={"acme"}, teams={"acme/platform"})
    fake.add_user("bob", "bob@acme.example", orgs={"acme"})
    fake.add_user("mallory", "mallory@evil.example", orgs={"evil-corp"})
    yield fake
    fake.stop()


def _configure(settings: Any, monkeypatch: pytest.MonkeyPatch, github: FakeGitHubOAuth,
               **env: str) -> None:  # fmt: skip
    """Settings as an operator writes them, evaluated from the environment."""
    built = settings_from_env(
        monkeypatch,
        PAVED_GITHUB_OAUTH_CLIENT_ID="Iv1.paved",
        PAVED_GITHUB_OAUTH_CLIENT_SECRET="gh-secret",
        PAVED_GITHUB_OAUTH_URL=github.url,
        **env,
    )
    settings.SOCIALACCOUNT_PROVIDERS = built["SOCIALACCOUNT_PROVIDERS"]
    settings.PAVED_GITHUB_OAUTH_ORGS = built["PAVED_GITHUB_OAUTH_ORGS"]
    settings.PAVED_GITHUB_OAUTH_TEAMS = built["PAVED_GITHUB_OAUTH_TEAMS"]
    settings.PAVED_LOCAL_LOGIN = False


def _github_sign_in(client: Client, github: FakeGitHubOAuth, login: str) -> Any:
    page = client.get("/accounts/login/").content.decode()
    action, token = _form_for(page, "/accounts/github/login/")
    start = client.post(action, {"csrfmiddlewaretoken": token})
    assert start.status_code == 302
    assert start["Location"].startswith(f"{github.url}/login/oauth/authorize?")
    assert "read%3Aorg" in start["Location"]  # the scope membership checks need
    github.next_login = login
    consent = requests.get(start["Location"], allow_redirects=False, timeout=10)
    callback = urlsplit(consent.headers["Location"])
    assert callback.path == "/accounts/github/login/callback/"
    return client.get(f"{callback.path}?{callback.query}")


def _assert_refused(client: Client, response: Any, *, says: str) -> None:
    assert response.status_code == 403
    page = response.content.decode()
    assert "Sign-in refused" in page
    assert says in page
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # still anonymous


def test_github_user_outside_the_organisation_is_refused_and_nothing_is_created(
    settings: Any, monkeypatch: pytest.MonkeyPatch, github: FakeGitHubOAuth
) -> None:
    _configure(settings, monkeypatch, github, PAVED_GITHUB_OAUTH_ORGS="acme")
    client = Client()
    response = _github_sign_in(client, github, "mallory")
    _assert_refused(client, response,
                    says="Your GitHub account mallory is not a member of the organisation acme")  # fmt: skip
    assert not User.objects.exists()
    assert not SocialAccount.objects.exists()


def test_member_of_the_organisation_signs_in(
    settings: Any, monkeypatch: pytest.MonkeyPatch, github: FakeGitHubOAuth
) -> None:
    _configure(settings, monkeypatch, github, PAVED_GITHUB_OAUTH_ORGS="other-org,acme")
    client = Client()
    assert _github_sign_in(client, github, "bob").status_code == 302
    user = User.objects.get(pk=client.session["_auth_user_id"])
    assert user.email == "bob@acme.example"
    assert SocialAccount.objects.get(user=user).provider == "github"


def test_organisation_member_outside_the_configured_teams_is_refused(
    settings: Any, monkeypatch: pytest.MonkeyPatch, github: FakeGitHubOAuth
) -> None:
    _configure(settings, monkeypatch, github, PAVED_GITHUB_OAUTH_ORGS="acme",
               PAVED_GITHUB_OAUTH_TEAMS="acme/platform")  # fmt: skip
    client = Client()
    _assert_refused(client, _github_sign_in(client, github, "bob"),
                    says="is not a member of the team acme/platform")  # fmt: skip
    assert not User.objects.exists()
    member = Client()
    assert _github_sign_in(member, github, "ada").status_code == 302
    assert User.objects.filter(email="ada@acme.example").exists()


def test_someone_who_left_the_organisation_cannot_sign_in_again(
    settings: Any, monkeypatch: pytest.MonkeyPatch, github: FakeGitHubOAuth
) -> None:
    _configure(settings, monkeypatch, github, PAVED_GITHUB_OAUTH_ORGS="acme")
    assert _github_sign_in(Client(), github, "bob").status_code == 302
    github.users["bob"].orgs.clear()
    client = Client()
    _assert_refused(client, _github_sign_in(client, github, "bob"), says="not a member")
    assert User.objects.count() == 1  # the old account is kept, but not signed in


def test_without_configured_organisations_github_sign_in_is_refused_for_everyone(
    settings: Any, monkeypatch: pytest.MonkeyPatch, github: FakeGitHubOAuth
) -> None:
    monkeypatch.delenv("PAVED_GITHUB_OAUTH_ORGS", raising=False)
    _configure(settings, monkeypatch, github)
    client = Client()
    _assert_refused(client, _github_sign_in(client, github, "ada"),
                    says="The platform team must set PAVED_GITHUB_OAUTH_ORGS")  # fmt: skip
    assert not User.objects.exists()
    assert any(p.id == "paved.E005" for p in check_production_components())
