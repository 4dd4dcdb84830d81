"""Attack 3: take over a template the platform team manages, the golden path included.

As found: a location registered from a URL adopted entities that had no location (every template
saved in admin or loaded as demo data); a developer's `metadata.name: python-service` replaced the
golden path; a platform admin then ran it and typed a password into a Secret field. Now a location
never adopts what it did not create, and a developer's templates are offered to nobody else until
a platform admin approves the location. (The transform that defeated masking is refused at load:
tests/security/test_secret_transform_exfiltration.py; run pages are private:
tests/security/test_run_visibility.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import User
from django.test import Client

from catalog.models import Entity, Location
from runs.models import Run
from scaffolder.demo import load_builtin_templates
from tests.security.conftest import entity, push, register, start_in_wizard, template_doc

IMPOSTOR = template_doc(
    "python-service",
    [{"id": "log", "action": "debug:log", "input": {"message": "${{ parameters.go }}"}}],
)
LURE = template_doc(
    "python-service-v2",
    [{"id": "log", "action": "debug:log", "input": {"message": "${{ parameters.go }}"}}],
)


@pytest.mark.django_db
def test_attack_3_a_location_cannot_replace_a_template_the_platform_team_saved(
    embedded: Path, attacker: User, attacker_client: Client, admin_client: Client
) -> None:
    load_builtin_templates()
    golden = Entity.objects.get(ref="template:default/python-service")
    spec_before, updated_before = golden.spec, golden.updated_at

    push("team-payments", "impostor", {"catalog-info.yaml": IMPOSTOR})
    register(attacker_client, "team-payments/impostor")

    golden.refresh_from_db()
    assert golden.location_id is None
    assert golden.spec == spec_before
    assert golden.updated_at == updated_before
    location = Location.objects.get(target="team-payments/impostor")
    assert any("managed in Paved by the platform team" in e for e in location.errors)
    # The admin's wizard still runs the platform team's steps.
    page = admin_client.get("/create/default/python-service/").content.decode()
    assert "kubernetes:namespace" in page


@pytest.mark.django_db
def test_attack_3_a_developers_template_is_offered_to_nobody_else_until_approved(
    embedded: Path, attacker: User, attacker_client: Client, admin_client: Client,
    platform_admin: User, owner_client: Client,
) -> None:  # fmt: skip
    push("team-payments", "lure", {"catalog-info.yaml": LURE})
    register(attacker_client, "team-payments/lure")
    lure = entity("template:default/python-service-v2")
    assert lure is not None

    for client in (admin_client, owner_client):
        assert client.get("/create/default/python-service-v2/").status_code == 404
        assert "python-service-v2" not in client.get("/create/").content.decode()
        start_in_wizard(client, lure.ref)
    assert not Run.objects.exists()
    # Its author may try it.
    assert attacker_client.get("/create/default/python-service-v2/").status_code == 200

    # A platform admin approves the location: now it is published like any other.
    from catalog.services import approve_location

    approve_location(location=lure.location, actor=platform_admin)
    assert owner_client.get("/create/default/python-service-v2/").status_code == 200


@pytest.mark.django_db
def test_a_developers_group_document_grants_no_membership(
    embedded: Path, attacker: User, attacker_client: Client
) -> None:
    """A developer cannot make themselves a member of another team with a Group document."""
    from catalog.queries import group_refs_for_user

    group = {"apiVersion": "backstage.io/v1alpha1", "kind": "Group",
             "metadata": {"name": "team-orders-shadow"},
             "spec": {"type": "team", "children": [], "members": ["oscar"]}}  # fmt: skip
    push("team-payments", "groups", {"catalog-info.yaml": yaml.safe_dump(group)})
    register(attacker_client, "team-payments/groups")
    assert entity("group:default/team-orders-shadow") is not None
    attacker.refresh_from_db()
    assert group_refs_for_user(attacker) == {"group:default/team-payments"}


@pytest.mark.django_db
def test_an_admin_deleting_a_developers_location_leaves_no_entity_that_reads_as_trusted(
    embedded: Path, attacker: User, attacker_client: Client, admin_client: Client
) -> None:
    """Left without a location, a developer's Group document would read as saved in Paved (and
    grant membership); deleting the location in admin removes its entities with it."""
    from catalog.queries import group_refs_for_user

    group = {"apiVersion": "backstage.io/v1alpha1", "kind": "Group",
             "metadata": {"name": "team-orders-shadow"},
             "spec": {"type": "team", "children": [], "members": ["oscar"]}}  # fmt: skip
    push("team-payments", "groups", {"catalog-info.yaml": yaml.safe_dump(group)})
    register(attacker_client, "team-payments/groups")
    location = Location.objects.get(target="team-payments/groups")
    response = admin_client.post(f"/admin/catalog/location/{location.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Location.objects.filter(pk=location.pk).exists()
    assert entity("group:default/team-orders-shadow") is None
    assert not Entity.objects.filter(kind__iexact="group", location__isnull=True,
                                     name="team-orders-shadow").exists()  # fmt: skip
    attacker.refresh_from_db()
    assert group_refs_for_user(attacker) == {"group:default/team-payments"}
