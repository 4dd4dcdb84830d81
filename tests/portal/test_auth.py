"""Sign-in: login everywhere, SSO against a real OpenID provider, local passwords only when on."""

from __future__ import annotations

import re
import runpy
import uuid
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import oidc_provider_mock
import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from django.conf import settings as settings_module
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from catalog.models import Entity, Relation, make_ref
from tests.conftest import make_group

pytestmark = pytest.mark.django_db

SETTINGS_FILE = "portal/settings.py"


def settings_from_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    """Evaluate portal/settings.py with extra environment variables, as a fresh process would."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(SETTINGS_FILE)


# --- every page needs login ---------------------------------------------------------------

SAMPLE_ARGS = {"int": "1", "slug": "x", "str": "x", "path": "x", "uuid": str(uuid.UUID(int=0))}
PUBLIC_PREFIXES: tuple[str, ...] = (
    "/accounts/",
    "/healthz",
    "/readyz",
    "/admin/login/",
    "/static/",
)
# Signed webhooks and token-authenticated APIs check their own credentials (tested in their apps).
PUBLIC_PREFIXES += ("/catalog/webhooks/", "/api/catalog/", "/api/metrics/", "/hooks/")
# The OpenAPI document answers 401 JSON without a session or API token (tests/fuzz/test_openapi.py).
PUBLIC_PREFIXES += ("/api/openapi.json",)
# Browsers ask for /favicon.ico on every site (Django's admin pages do not link one).
PUBLIC_PREFIXES += ("/favicon.ico",)


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def _example_path(route: str) -> str | None:
    if route.startswith("^") or "(?P" in route:
        # Regex routes (admin internals): take the fixed part when there is one.
        fixed = re.sub(r"[\^$]", "", route)
        return None if any(c in fixed for c in "()[]?*+\\") else "/" + fixed
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE_ARGS[m.group(1) or "str"], route)


def test_every_page_but_sign_in_and_health_needs_login(client: Client) -> None:
    checked = 0
    for route, callback in _walk(get_resolver().url_patterns):
        url = _example_path(route)
        if url is None:
            continue
        public = getattr(callback, "login_required", True) is False
        if public:
            assert url.startswith(PUBLIC_PREFIXES), f"{url} is reachable without login"
            continue
        response = client.get(url)
        checked += 1
        assert response.status_code == 302, f"{url} answered {response.status_code} anonymously"
        location = response["Location"]
        assert location.startswith(("/accounts/login/", "/admin/login/")), f"{url} -> {location}"
    assert checked >= 5  # home, search, docs, runs, admin at least


@pytest.mark.parametrize("path", ["/healthz", "/accounts/login/"])
def test_sign_in_and_health_are_public(client: Client, path: str) -> None:
    assert client.get(path).status_code == 200


# --- local passwords ---------------------------------------------------------------------


@pytest.fixture
def dave() -> User:
    return User.objects.create_user("dave", "dave@example.com", "correct-horse-9")


def test_password_login_refused_when_local_login_is_off(client: Client, settings, dave) -> None:
    settings.PAVED_LOCAL_LOGIN = False
    page = client.get("/accounts/login/").content.decode()
    assert 'name="password"' not in page
    response = client.post("/accounts/login/", {"login": "dave", "password": "correct-horse-9"})
    assert response.status_code == 200
    assert "Password sign-in is turned off" in response.content.decode()
    assert client.get("/").status_code == 302  # still anonymous
    # Django's admin form uses the model backend: refused as well.
    response = client.post("/admin/login/", {"username": "dave", "password": "correct-horse-9"})
    assert "_auth_user_id" not in client.session


def test_password_login_works_when_local_login_is_on(client: Client, settings, dave) -> None:
    settings.PAVED_LOCAL_LOGIN = True
    page = client.get("/accounts/login/").content.decode()
    assert 'name="password"' in page
    response = client.post("/accounts/login/", {"login": "dave", "password": "correct-horse-9"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_wrong_password_says_so(client: Client, settings, dave) -> None:
    settings.PAVED_LOCAL_LOGIN = True
    response = client.post("/accounts/login/", {"login": "dave", "password": "wrong-one"})
    assert response.status_code == 200
    assert "not correct" in response.content.decode()


def test_repeated_wrong_passwords_are_rate_limited(client: Client, settings, dave) -> None:
    """allauth's login_failed limit (5 per 5 minutes per account): then even the right
    password is refused for a while, with a message saying why."""
    from django.core.cache import cache

    settings.PAVED_LOCAL_LOGIN = True
    cache.clear()
    try:
        for _ in range(5):
            response = client.post("/accounts/login/", {"login": "dave", "password": "wrong"})
            assert "not correct" in response.content.decode()
        response = client.post("/accounts/login/", {"login": "dave", "password": "correct-horse-9"})
        assert response.status_code in (200, 429)
        assert "Too many failed login attempts" in response.content.decode()
        assert "_auth_user_id" not in client.session
    finally:
        cache.clear()


def test_production_settings_turn_on_hsts_and_secure_cookies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PAVED_DEBUG", raising=False)
    production = settings_from_env(monkeypatch, PAVED_DEBUG="false")
    assert production["SESSION_COOKIE_SECURE"]
    assert production["CSRF_COOKIE_SECURE"]
    assert production["SESSION_COOKIE_HTTPONLY"]
    assert production["SECURE_HSTS_SECONDS"] >= 31536000
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    development = settings_from_env(monkeypatch, PAVED_DEBUG="true")
    assert not development["SESSION_COOKIE_SECURE"]
    assert development["SECURE_HSTS_SECONDS"] == 0


def test_no_login_method_explains_what_to_configure(client: Client, settings) -> None:
    settings.PAVED_LOCAL_LOGIN = False
    settings.SOCIALACCOUNT_PROVIDERS = {}
    page = client.get("/accounts/login/").content.decode()
    assert "No sign-in method is configured" in page
    assert "PAVED_OIDC_SERVER_URL" in page


def test_logout_is_a_post_with_confirmation(client: Client, settings, dave) -> None:
    client.force_login(dave)
    page = client.get("/accounts/logout/")
    assert page.status_code == 200
    assert 'method="post"' in page.content.decode()
    assert client.get("/").status_code == 200  # GET did not sign out
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_signup_is_closed_without_local_login(client: Client, settings) -> None:
    settings.PAVED_LOCAL_LOGIN = False
    page = client.get("/accounts/signup/")
    assert "Accounts come from your company sign-in" in page.content.decode()
    client.post(
        "/accounts/signup/",
        {"username": "eve", "email": "e@x.org", "password1": "x-Y-z-123456", "password2": "x-Y-z-123456"},
    )  # fmt: skip
    assert not User.objects.filter(username="eve").exists()


# --- SSO with a real OpenID Connect provider ------------------------------------------------


@pytest.fixture
def oidc_server() -> Iterator[str]:
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def oidc_settings(settings, monkeypatch, oidc_server: str) -> str:
    """Settings as an operator would write them, evaluated from the environment."""
    built = settings_from_env(
        monkeypatch,
        PAVED_OIDC_SERVER_URL=oidc_server,
        PAVED_OIDC_CLIENT_ID="paved-portal",
        PAVED_OIDC_CLIENT_SECRET="paved-portal-secret",
        PAVED_OIDC_NAME="Acme SSO",
    )
    settings.SOCIALACCOUNT_PROVIDERS = built["SOCIALACCOUNT_PROVIDERS"]
    settings.PAVED_LOCAL_LOGIN = False
    return oidc_server


def _form_for(page: str, action_fragment: str) -> tuple[str, str]:
    """The action and CSRF token of the form whose action contains `action_fragment`."""
    for form in re.findall(r"<form\b.*?</form>", page, flags=re.S):
        action = re.search(r'action="([^"]*)"', form)
        if action and action_fragment in unescape(action.group(1)):
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
            assert token, "SSO form has no CSRF token"
            return unescape(action.group(1)), token.group(1)
    raise AssertionError(f"no form posting to {action_fragment!r} on the sign-in page")


def _sso_sign_in(client: Client, oidc_server: str, sub: str) -> Any:
    page = client.get("/accounts/login/?next=/docs/").content.decode()
    assert "Sign in with Acme SSO" in page
    action, token = _form_for(page, "/accounts/oidc/sso/login/")
    start = client.post(action, {"csrfmiddlewaretoken": token})
    assert start.status_code == 302
    assert start["Location"].startswith(oidc_server)
    idp = requests.post(start["Location"], data={"sub": sub}, allow_redirects=False, timeout=10)
    assert idp.status_code in (302, 303), idp.text[:300]
    callback = urlsplit(idp.headers["Location"])
    assert callback.path == "/accounts/oidc/sso/login/callback/"
    return client.get(f"{callback.path}?{callback.query}")


def test_oidc_sign_in_creates_user_and_links_catalog(oidc_settings: str) -> None:
    oidc_server = oidc_settings
    team = make_group("team-orders")
    person = Entity.objects.create(
        kind="User",
        name="erin-smith",  # differs from the IdP username: the e-mail links them
        spec={"profile": {"email": "Erin@Example.com"}},
    )
    Relation.objects.create(source=person, type="memberOf", target_ref=team.ref, target=team)
    requests.put(
        f"{oidc_server}/users/erin",
        json={
            "email": "erin@example.com",
            "email_verified": True,
            "name": "Erin Smith",
            "preferred_username": "erin",
        },
        timeout=10,
    ).raise_for_status()

    client = Client(enforce_csrf_checks=True)
    done = _sso_sign_in(client, oidc_server, "erin")
    assert done.status_code == 302
    assert done["Location"] == "/docs/"
    assert client.get("/").status_code == 200

    user = User.objects.get(email="erin@example.com")
    assert user.username == "erin"
    account = SocialAccount.objects.get(user=user)
    assert (account.provider, account.uid) == ("sso", "erin")
    person.refresh_from_db()
    assert person.user == user
    from catalog.queries import group_refs_for_user

    assert group_refs_for_user(User.objects.get(pk=user.pk)) == {
        make_ref("Group", "default", "team-orders")
    }

    # A second sign-in (new browser) reuses the account: no second user, no second link.
    again = Client(enforce_csrf_checks=True)
    assert _sso_sign_in(again, oidc_server, "erin").status_code == 302
    assert User.objects.filter(email="erin@example.com").count() == 1
    assert SocialAccount.objects.filter(uid="erin").count() == 1
    assert int(again.session["_auth_user_id"]) == user.pk


def test_sso_sign_in_links_existing_catalog_user_on_login(oidc_settings: str) -> None:
    """A catalog User created after someone's first sign-in is linked on their next sign-in."""
    oidc_server = oidc_settings
    requests.put(
        f"{oidc_server}/users/frank",
        json={"email": "frank@example.com", "email_verified": True},
        timeout=10,
    ).raise_for_status()
    assert _sso_sign_in(Client(), oidc_server, "frank").status_code == 302
    user = User.objects.get(email="frank@example.com")
    assert not Entity.objects.filter(user=user).exists()
    person = Entity.objects.create(
        kind="User", name="frank-k", spec={"profile": {"email": "frank@example.com"}}
    )
    assert _sso_sign_in(Client(), oidc_server, "frank").status_code == 302
    person.refresh_from_db()
    assert person.user == user


def test_sso_login_on_get_is_off_by_default(oidc_settings: str, client: Client) -> None:
    # A plain link (GET) must not start the sign-in: it shows a confirmation with a POST form.
    page = client.get("/accounts/oidc/sso/login/")
    assert page.status_code == 200
    assert "Continue to Acme SSO" in page.content.decode()


def test_sso_error_page_is_friendly(oidc_settings: str, client: Client) -> None:
    # A callback without a valid state (stale tab, forged request) lands on our error page.
    page = client.get("/accounts/oidc/sso/login/callback/?code=x&state=forged")
    assert page.status_code == 401
    assert "Sign-in did not work" in page.content.decode()


def test_sso_cancel_page(oidc_settings: str, client: Client) -> None:
    page = client.get("/accounts/3rdparty/login/cancelled/")
    assert "Sign-in cancelled" in page.content.decode()


def test_github_oauth_from_env_shows_its_button(settings, monkeypatch, client: Client) -> None:
    built = settings_from_env(
        monkeypatch,
        PAVED_GITHUB_OAUTH_CLIENT_ID="Iv1.abc",
        PAVED_GITHUB_OAUTH_CLIENT_SECRET="gh-secret",
    )
    assert built["SOCIALACCOUNT_PROVIDERS"]["github"]["APPS"][0]["client_id"] == "Iv1.abc"
    settings.SOCIALACCOUNT_PROVIDERS = built["SOCIALACCOUNT_PROVIDERS"]
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with GitHub" in page
    action, _ = _form_for(page, "/accounts/github/login/")
    start = client.post(action)
    assert start.status_code == 302
    assert start["Location"].startswith("https://github.com/login/oauth/authorize?")
    assert "client_id=Iv1.abc" in start["Location"]


@pytest.mark.parametrize(
    "name",
    [
        "account/login.html",
        "account/logout.html",
        "account/signup_closed.html",
        "account/account_inactive.html",
        "socialaccount/login.html",
        "socialaccount/authentication_error.html",
        "socialaccount/login_cancelled.html",
        "socialaccount/signup.html",
    ],
)
def test_our_sign_in_templates_replace_allauths(name: str) -> None:
    from django.template.loader import get_template

    template: Any = get_template(name)  # the backend's wrapper around a django Template
    assert str(template.origin.name).startswith(str(settings_module.BASE_DIR / "templates"))
    assert "base.html" in template.template.source


def test_no_provider_buttons_without_configuration(settings, client: Client) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = {}
    settings.PAVED_LOCAL_LOGIN = True
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with" not in page
    assert 'name="password"' in page


def test_sso_sign_in_reuses_an_existing_account_with_that_email(oidc_settings: str) -> None:
    """Someone who had a local account (e.g. created by an admin) keeps it when SSO arrives."""
    oidc_server = oidc_settings
    existing = User.objects.create_user("gina", "gina@example.com", "pw-for-tests-1")
    requests.put(
        f"{oidc_server}/users/gina-sso",
        json={"email": "gina@example.com", "email_verified": True, "preferred_username": "gina"},
        timeout=10,
    ).raise_for_status()
    client = Client()
    assert _sso_sign_in(client, oidc_server, "gina-sso").status_code == 302
    assert int(client.session["_auth_user_id"]) == existing.pk
    assert User.objects.filter(email="gina@example.com").count() == 1
    assert SocialAccount.objects.get(uid="gina-sso").user == existing


def test_unverified_email_of_an_existing_account_asks_instead_of_taking_it_over(
    oidc_settings: str,
) -> None:
    """An IdP that does not vouch for the address must not sign someone into that account."""
    oidc_server = oidc_settings
    existing = User.objects.create_user("hank", "hank@example.com", "pw-for-tests-1")
    requests.put(
        f"{oidc_server}/users/hank-sso",
        json={"email": "hank@example.com", "email_verified": False, "preferred_username": "hank"},
        timeout=10,
    ).raise_for_status()
    client = Client()
    response = _sso_sign_in(client, oidc_server, "hank-sso")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/3rdparty/signup/"
    assert "_auth_user_id" not in client.session
    page = client.get(response["Location"]).content.decode()
    assert "One more thing" in page
    assert "You signed in with Acme SSO" in page
    assert 'name="email"' in page
    assert not SocialAccount.objects.filter(user=existing).exists()


def test_sso_origin_is_allowed_as_form_action(monkeypatch: pytest.MonkeyPatch) -> None:
    """CSP's form-action also governs the redirect after the "Sign in with SSO" form post:
    without the IdP's origin there, browsers stop the sign-in before it reaches the IdP."""
    plain = settings_from_env(monkeypatch)["SECURE_CSP"]["form-action"]
    assert not any(o.startswith("http") for o in plain)
    built = settings_from_env(
        monkeypatch,
        PAVED_OIDC_SERVER_URL="https://sso.example.com:8443/realms/acme",
        PAVED_OIDC_CLIENT_ID="paved-portal",
        PAVED_GITHUB_OAUTH_CLIENT_ID="gh-client",
        PAVED_CSP_FORM_ACTION="https://extra.example.com",
    )
    assert built["SECURE_CSP"]["form-action"] == [
        "'self'",
        "https://sso.example.com:8443",
        "https://github.com",
        "https://extra.example.com",
    ]
