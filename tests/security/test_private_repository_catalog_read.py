"""A developer cannot make the catalog read another team's private repository (its
catalog-info.yaml would show on the entity pages to everyone): refused on the Register page,
preview included; the team itself may register it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from catalog.models import Entity, Location
from tests.security.conftest import push

SECRET = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: stealth-project, description: the acquisition nobody may know about}
spec: {type: service, owner: group:default/team-orders, lifecycle: experimental}
"""


@pytest.mark.django_db
def test_another_teams_private_repository_cannot_be_registered_or_previewed(
    embedded: Path, attacker: User, attacker_client: Client, owner_client: Client
) -> None:
    push("team-orders", "stealth", {"catalog-info.yaml": SECRET})  # private by default

    preview = attacker_client.post("/catalog/register/", {"location": "team-orders/stealth"})
    assert preview.status_code == 422
    assert "is private to its team" in preview.content.decode()
    assert "acquisition" not in preview.content.decode()
    confirm = attacker_client.post(
        "/catalog/register/", {"location": "team-orders/stealth", "action": "confirm"}
    )
    assert confirm.status_code == 422
    assert not Location.objects.exists()
    assert not Entity.objects.filter(name="stealth-project").exists()

    # Its own team may.
    assert owner_client.post(
        "/catalog/register/", {"location": "team-orders/stealth", "action": "confirm"}
    ).status_code == 302
    assert Entity.objects.filter(name="stealth-project").exists()
