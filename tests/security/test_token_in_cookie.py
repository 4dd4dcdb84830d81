"""A new API or integration token must never travel in a cookie (Django's `messages` cookie is
signed but readable by anyone who sees it): it is shown once, on the response to "Save"."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from catalog.models import ApiToken
from catalog.tokens import hash_token

pytestmark = pytest.mark.django_db


def _shown_token(response: Any) -> str:
    match = re.search(r'data-testid="new-token">([^<]+)<', response.content.decode())
    assert match, "the token is not on the response page"
    return match.group(1)


def _assert_never_in_a_cookie(client: Client, response: Any, token: str) -> None:
    set_cookies = [morsel.OutputString() for morsel in response.cookies.values()]
    assert all(token not in cookie for cookie in set_cookies), set_cookies
    assert all(token not in morsel.value for morsel in client.cookies.values())
    assert "no-store" in response["Cache-Control"]
    # The next page shows it nowhere: not as a message, not in the list.
    after = client.get(response.wsgi_request.path.rsplit("/add/", 1)[0] + "/")
    assert token not in after.content.decode()
    assert all(token not in morsel.OutputString() for morsel in after.cookies.values())


def test_new_api_token_is_shown_once_and_never_set_in_a_cookie(
    client: Client, platform_admin: User, owner: User
) -> None:
    client.force_login(platform_admin)
    response = client.post(
        "/admin/catalog/apitoken/add/", {"name": "ci", "scope": "catalog", "user": owner.pk}
    )
    assert response.status_code == 200  # rendered directly, not a redirect to another page
    token = _shown_token(response)
    assert token.startswith("pvd_")
    _assert_never_in_a_cookie(client, response, token)
    row = ApiToken.objects.get()
    assert row.token_hash == hash_token(token)
    assert token not in json.dumps(list(ApiToken.objects.values()), default=str)
    api = Client().get("/api/catalog/entities", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200


def test_new_integration_token_is_shown_once_and_never_set_in_a_cookie(
    client: Client, platform_admin: User
) -> None:
    client.force_login(platform_admin)
    response = client.post(
        "/admin/catalog/apitoken/add/", {"name": "jenkins", "scope": "metrics-events"}
    )
    assert response.status_code == 200
    token = _shown_token(response)
    _assert_never_in_a_cookie(client, response, token)
    row = ApiToken.objects.get(name="jenkins")
    assert token.startswith(row.prefix)
    assert token not in json.dumps(list(ApiToken.objects.values()), default=str)
    ok = Client().post(
        "/api/metrics/events",
        json.dumps([]),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert ok.status_code == 200
