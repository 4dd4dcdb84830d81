"""The platform team's admin pages, model validation, and the self-service metric query."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from catalog.models import Entity
from infra import services
from infra.models import Composition, ResourceClass
from infra.queries import self_service_stats
from infra.validation import RequestSpec
from tests.infra.conftest import SEED_REQUEST, drive, latest_run

pytestmark = pytest.mark.django_db

MODELS = [
    "resourceclass",
    "composition",
    "tier",
    "policy",
    "teamlead",
    "resourcerequest",
    "approval",
]


@pytest.mark.parametrize("model", MODELS)
def test_admin_lists_load_for_platform_admin(
    client: Client, platform_admin: User, model: str
) -> None:
    client.force_login(platform_admin)
    assert client.get(reverse(f"admin:infra_{model}_changelist")).status_code == 200


def test_admin_composition_page_shows_the_exported_yaml(
    client: Client, platform_admin: User
) -> None:
    client.force_login(platform_admin)
    composition = Composition.objects.get(name="postgresql-aws-production")
    page = client.get(reverse("admin:infra_composition_change", args=[composition.pk]))
    assert page.status_code == 200
    assert "rds.aws.upbound.io/v1beta1" in page.content.decode()


def test_admin_export_action_downloads_yaml(client: Client, platform_admin: User) -> None:
    client.force_login(platform_admin)
    rc = ResourceClass.objects.get(name="postgresql")
    response = client.post(
        reverse("admin:infra_resourceclass_changelist"),
        {"action": "export_yaml", "_selected_action": [rc.pk]},
    )
    assert response.status_code == 200
    docs = list(yaml.safe_load_all(response.content))
    assert [d["kind"] for d in docs[:2]] == ["Function", "CompositeResourceDefinition"]
    assert all(d["spec"]["mode"] == "Pipeline" for d in docs[2:])
    assert {d["metadata"]["name"] for d in docs[2:]} == {
        "postgresql-aws-dev",
        "postgresql-aws-staging",
        "postgresql-aws-production",
    }


def test_admin_is_closed_to_developers(client: Client, owner: User) -> None:
    client.force_login(owner)
    response = client.get(reverse("admin:infra_resourceclass_changelist"))
    assert response.status_code == 302


def test_resource_class_rejects_a_broken_schema() -> None:
    rc = ResourceClass.objects.get(name="postgresql")
    rc.parameter_schema = {"type": "object", "properties": {"x": {"type": "nonsense"}}}
    with pytest.raises(ValidationError, match="Invalid JSON Schema"):
        rc.full_clean()
    rc.parameter_schema = ["not", "an", "object"]
    with pytest.raises(ValidationError, match="JSON object schema"):
        rc.full_clean()


def test_composition_needs_named_resources_with_a_base() -> None:
    composition = Composition.objects.get(name="postgresql-aws-dev")
    composition.resources = [{"base": {}}]
    with pytest.raises(ValidationError, match="name, base, patches"):
        composition.full_clean()


def test_self_service_stats(owner: User, orders_service: Entity, cluster_dir: Path) -> None:
    assert self_service_stats()["self_service_rate"] is None
    for name in ("a-db", "b-db"):
        spec = RequestSpec.from_document(
            {**SEED_REQUEST, "environment": "dev", "name": name, "component": "orders-service"}
        )
        req = services.submit_request(spec=spec, actor=owner)
        drive(latest_run(req.subject))
    stats = self_service_stats()
    assert stats["fulfilled"] == 2
    assert stats["self_service_rate"] == 1.0
    assert stats["median_time_to_ready"] < timedelta(minutes=1)
