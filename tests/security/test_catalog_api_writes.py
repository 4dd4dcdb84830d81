"""The catalog API's writes (register, analyze, refresh, delete a location) keep the trust
boundary: only tokens issued with write access, acting with their user's rights, under the same
rules as the Register page (files, private repositories, outbound fetches, template approval);
refused requests write nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from catalog.ingestion import FILE, Target
from catalog.models import ApiToken, Entity, Location
from catalog.queries import group_refs_for_user
from catalog.services import refresh_location, register_location
from catalog.tokens import hash_token
from portal.models import AuditEvent
from tests.security.conftest import push

pytestmark = pytest.mark.django_db

COMPONENT = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: %s}
spec: {type: service, owner: group:default/%s, lifecycle: production}
"""
TEMPLATE = """apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: team-orders-template}
spec:
  type: service
  owner: group:default/team-orders
  steps: [{id: log, action: debug:log, input: {message: hi}}]
"""
# A Group document that would make its registrant a member of the platform team.
GROUP = """apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: platform-team}
spec: {type: team, children: [], members: [%s]}
"""


def token(user: User, *, can_write: bool = True) -> dict[str, str]:
    raw = f"pvd_sec-{user.username}-{can_write}"
    ApiToken.objects.create(
        name="t", user=user, token_hash=hash_token(raw), prefix=raw[:12], can_write=can_write
    )
    return {"Authorization": f"Bearer {raw}"}


def post(client: Client, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.post(f"/api/catalog/{path}", json.dumps(body), content_type="application/json",
                       headers=headers)  # fmt: skip


def test_sessions_and_read_tokens_never_write(
    client: Client, owner: User, tmp_path: Path, platform_admin: User
) -> None:
    (tmp_path / "c.yaml").write_text(COMPONENT % ("sneaky", "team-orders"))
    location = register_location(target=Target(FILE, str(tmp_path / "c.yaml")), actor=None)
    refresh_location(location=location)
    # Even a platform admin's session (a cookie a forged page could ride) and read token.
    client.force_login(platform_admin)
    for headers in ({}, token(platform_admin, can_write=False), token(owner, can_write=False)):
        attempts = [
            post(client, "locations", {"type": "url", "target": "https://example.com/x.yaml"},
                 headers),
            post(client, "analyze-location",
                 {"location": {"type": "url", "target": "https://example.com/x.yaml"}}, headers),
            post(client, "refresh", {"entityRef": "component:default/sneaky"}, headers),
            client.delete(f"/api/catalog/locations/{location.pk}", headers=headers),
        ]  # fmt: skip
        for response in attempts:
            assert response.status_code == 403, response.content
            assert "write access" in response.json()["error"]["message"]
    assert list(Location.objects.values_list("pk", flat=True)) == [location.pk]
    assert Entity.objects.filter(name="sneaky").exists()
    # Only the setup's own registration is in the audit trail.
    assert list(AuditEvent.objects.filter(action__startswith="catalog.location").values_list(
        "action", flat=True)) == ["catalog.location.registered"]  # fmt: skip


def test_a_developers_write_token_registers_only_what_the_register_page_allows(
    client: Client, embedded: Path, owner: User, outsider: User, settings: Any, tmp_path: Path
) -> None:
    settings.PAVED_OUTBOUND_ALLOWED_HOSTS = []
    (tmp_path / "local.yaml").write_text(COMPONENT % ("on-the-server", "team-payments"))
    push("team-orders", "stealth", {"catalog-info.yaml": COMPONENT % ("secret", "team-orders")})
    attacker = token(outsider)
    refused = {
        # Files on the portal server are the platform team's.
        ("file", str(tmp_path / "local.yaml")): "Only platform admins may register files",
        # Another team's private repository.
        ("repo", "team-orders/stealth"): "is private to its team",
        # The outbound rules: loopback, cloud metadata, and hosts nobody allowed.
        ("url", "http://127.0.0.1:8000/catalog-info.yaml"): "PAVED_OUTBOUND_ALLOWED_HOSTS",
        ("url", "http://169.254.169.254/latest/meta-data"): "PAVED_OUTBOUND_ALLOWED_HOSTS",
        ("url", "https://evil.example/catalog-info.yaml"): "PAVED_OUTBOUND_ALLOWED_HOSTS",
    }
    for (type_, target), reason in refused.items():
        for path, body in (
            ("locations", {"type": type_, "target": target}),
            ("locations?dryRun=true", {"type": type_, "target": target}),
            ("analyze-location", {"location": {"type": type_, "target": target}}),
        ):
            response = post(client, path, body, attacker)
            assert response.status_code == 403, (path, target, response.content)
            assert reason in response.json()["error"]["message"]
            assert "secret" not in response.content.decode()
    assert not Location.objects.exists()
    assert not Entity.objects.filter(name__in=["on-the-server", "secret"]).exists()


def test_a_developers_registration_publishes_no_template_and_grants_no_membership(
    client: Client, embedded: Path, owner: User, outsider: User
) -> None:
    push("team-payments", "tools", {"catalog-info.yaml": "---\n".join(
        [COMPONENT % ("tools", "team-payments"), TEMPLATE, GROUP % "oscar"])})  # fmt: skip
    response = post(client, "locations", {"type": "repo", "target": "team-payments/tools"},
                    token(outsider))  # fmt: skip
    assert response.status_code == 201, response.content
    location = Location.objects.get()
    assert location.created_by == outsider
    assert location.approved_at is None  # its Template waits for a platform admin
    assert "group:default/platform-team" not in group_refs_for_user(outsider)


def test_only_the_registrant_or_a_platform_admin_refreshes_or_deletes_a_location(
    client: Client, owner: User, outsider: User, platform_admin: User, tmp_path: Path
) -> None:
    (tmp_path / "mine.yaml").write_text(COMPONENT % ("orders-tool", "team-orders"))
    (tmp_path / "theirs.yaml").write_text(COMPONENT % ("platform-tool", "platform-team"))
    mine = register_location(target=Target(FILE, str(tmp_path / "mine.yaml")), actor=owner)
    theirs = register_location(target=Target(FILE, str(tmp_path / "theirs.yaml")), actor=None)
    refresh_location(location=mine)
    refresh_location(location=theirs)
    attacker = token(outsider)
    for location, ref in ((mine, "orders-tool"), (theirs, "platform-tool")):
        response = client.delete(f"/api/catalog/locations/{location.pk}", headers=attacker)
        assert response.status_code == 403
        assert "Only platform admins and the person who registered" in response.content.decode()
        response = post(client, "refresh", {"entityRef": f"component:default/{ref}"}, attacker)
        assert response.status_code == 403
    assert Location.objects.count() == 2
    assert Entity.objects.filter(name__in=["orders-tool", "platform-tool"]).count() == 2
    assert not AuditEvent.objects.filter(action="catalog.location.deleted").exists()

    # The registrant deletes their own: the location and its entities go, none is left behind
    # without a location (which would read as one the platform team saved).
    own = token(owner)
    assert post(client, "refresh", {"entityRef": "component:default/orders-tool"}, own).status_code == 200  # fmt: skip
    assert client.delete(f"/api/catalog/locations/{mine.pk}", headers=own).status_code == 204
    assert not Entity.objects.filter(name="orders-tool").exists()
    assert AuditEvent.objects.filter(action="catalog.location.deleted", actor=owner).count() == 1
    # A platform admin may delete any location.
    admin = token(platform_admin)
    assert client.delete(f"/api/catalog/locations/{theirs.pk}", headers=admin).status_code == 204
    assert not Location.objects.exists()
    assert not Entity.objects.filter(location__isnull=True, name__endswith="-tool").exists()
