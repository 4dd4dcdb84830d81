"""Read-only API compatible with Backstage's catalog: filters, by-name, session/token auth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from catalog.models import ApiToken
from catalog.tokens import hash_token, revoke_token
from tests.catalog.helpers import component, ingest_docs

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(tmp_path: Path) -> None:
    ingest_docs(
        tmp_path,
        [
            component("orders", metadata={"annotations": {"github.com/project-slug": "acme/orders"}}),
            component("shop-web", type="website"),
            component("billing", owner="team-payments"),
            {"apiVersion": "backstage.io/v1alpha1", "kind": "API", "metadata": {"name": "orders-api"},
             "spec": {"type": "openapi", "lifecycle": "production", "owner": "team-orders",
                      "definition": "openapi: 3.0.0"}},
        ],
    )  # fmt: skip


def names(response: Any) -> set[str]:
    return {e["metadata"]["name"] for e in response.json()}


def test_filter_and_or_semantics(owner_client: Any, catalog: None) -> None:
    url = "/api/catalog/entities"
    assert names(owner_client.get(url, {"filter": "kind=component,spec.type=service"})) == {
        "orders", "billing"}  # fmt: skip
    # Separate filter params are OR-ed; case-insensitive values.
    both = owner_client.get(url, {"filter": ["kind=API", "spec.type=website"]})
    assert names(both) == {"orders-api", "shop-web"}
    # Repeating a key inside one filter is an OR of its values.
    assert names(owner_client.get(url, {"filter": "metadata.name=orders,metadata.name=billing"})) == {
        "orders", "billing"}  # fmt: skip
    assert names(owner_client.get(url, {"filter": "spec.owner=team-payments"})) == {"billing"}
    assert names(owner_client.get(
        url, {"filter": "metadata.annotations.github.com/project-slug=acme/orders"})) == {"orders"}  # fmt: skip


def test_by_name_returns_backstage_shape(owner_client: Any, catalog: None) -> None:
    body = owner_client.get("/api/catalog/entities/by-name/component/default/orders").json()
    assert body["apiVersion"] == "backstage.io/v1alpha1"
    assert body["kind"] == "Component"
    assert body["metadata"]["namespace"] == "default"
    assert {"type": "ownedBy", "targetRef": "group:default/team-orders"} in body["relations"]
    missing = owner_client.get("/api/catalog/entities/by-name/component/default/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["name"] == "NotFoundError"


def test_requires_session_or_token(client: Any, owner: Any, catalog: None) -> None:
    url = "/api/catalog/entities/by-name/Component/default/orders"
    assert client.get(url).status_code == 401
    raw = "pvd_test-token-value"
    token = ApiToken.objects.create(
        name="ci", user=owner, token_hash=hash_token(raw), prefix=raw[:12]
    )
    ok = client.get(url, headers={"Authorization": f"Bearer {raw}"})
    assert ok.status_code == 200
    assert ok.json()["metadata"]["name"] == "orders"
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert client.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    revoke_token(token=token)
    assert client.get(url, headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_api_token_created_in_admin_is_hashed(admin_client: Any, owner: Any) -> None:
    response = admin_client.post(
        "/admin/catalog/apitoken/add/", {"name": "ci", "scope": "catalog", "user": owner.pk}
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    raw = response.context["token"]  # shown once on the response (tests/security)
    assert token.token_hash == hash_token(raw)
    assert raw not in token.token_hash
