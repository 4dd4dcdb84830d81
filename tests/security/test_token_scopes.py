"""API tokens and integration tokens live in one table: a token opens only its own scope's API,
a catalog token is only ever as strong as its (active) user, and an integration token has no
user and cannot write — refused by the database, not only by the admin form."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.test import Client

from catalog.models import ApiToken, Location
from catalog.tokens import create_token, hash_token

pytestmark = pytest.mark.django_db

ENTITIES = "/api/catalog/entities"
EVENTS = "/api/metrics/events"
LOCATIONS = "/api/catalog/locations"


def _bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def test_a_token_opens_only_its_own_api(owner: User) -> None:
    """An integration token cannot read the catalog or register a location; a catalog token
    (even one that can write) cannot post metrics events."""
    _, catalog_raw = create_token(
        name="writer", scope=ApiToken.Scope.CATALOG, user=owner, can_write=True
    )
    _, events_raw = create_token(name="jenkins", scope=ApiToken.Scope.METRICS_EVENTS)
    client = Client()
    assert client.get(ENTITIES, headers=_bearer(events_raw)).status_code == 401
    register = client.post(LOCATIONS, {"type": "url", "target": "https://example.com/c.yaml"},
                           content_type="application/json", headers=_bearer(events_raw))  # fmt: skip
    assert register.status_code == 401
    assert not Location.objects.exists()
    sent = client.post(EVENTS, "[]", content_type="application/json",
                       headers=_bearer(catalog_raw))  # fmt: skip
    assert sent.status_code == 403
    assert client.get(ENTITIES, headers=_bearer(catalog_raw)).status_code == 200


def test_a_catalog_token_stops_with_its_user(owner: User) -> None:
    _, raw = create_token(name="reader", scope=ApiToken.Scope.CATALOG, user=owner)
    owner.is_active = False
    owner.save()
    assert Client().get(ENTITIES, headers=_bearer(raw)).status_code == 401


@pytest.mark.parametrize(
    ("scope", "with_user", "can_write"),
    [
        (ApiToken.Scope.METRICS_EVENTS, True, False),  # an integration acting as a person
        (ApiToken.Scope.METRICS_EVENTS, False, True),  # an integration that writes
        (ApiToken.Scope.CATALOG, False, False),  # a catalog token acting as nobody
    ],
)
def test_the_database_refuses_tokens_outside_the_rules(
    owner: User, scope: str, with_user: bool, can_write: bool
) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiToken.objects.create(
            name="x", scope=scope, user=owner if with_user else None, can_write=can_write,
            prefix="pvd_x", token_hash=hash_token("pvd_x"),
        )  # fmt: skip
    assert not ApiToken.objects.exists()
