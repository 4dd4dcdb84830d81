"""Names are checked before anything is created: a taken repository, namespace, Argo CD
application or catalog entity stops Create with a plain message, and no run starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from catalog.models import Entity
from runs.models import Run, RunStatus
from runs.runner import RunStartError
from scaffolder.demo import load_builtin_templates
from scaffolder.models import TemplateVersion
from scaffolder.services import start_template_run
from tests.scaffolder.test_golden_path_embedded import EMBEDDED, VALUES
from tests.scaffolder.test_template_runs import drive

pytestmark = pytest.mark.django_db


@EMBEDDED
def test_a_second_service_with_the_same_names_is_stopped_before_it_starts(
    owner: User, git_root: Path
) -> None:
    load_builtin_templates()
    version = TemplateVersion.objects.get(ref="template:default/python-service")
    first = drive(start_template_run(version=version, values=VALUES, actor=owner))
    assert first.status == RunStatus.SUCCEEDED, first.error
    runs = Run.objects.count()
    with pytest.raises(RunStartError) as refused:
        start_template_run(version=version, values=VALUES, actor=owner)
    problems = refused.value.problems
    assert "The repository team-orders/orders-api already exists; choose another name." in problems
    assert any(p.startswith("The namespace orders-api") for p in problems), problems
    assert any(p.startswith("The Argo CD application orders-api") for p in problems), problems
    assert "The catalog already has component:default/orders-api; choose another name." in problems
    assert Run.objects.count() == runs


@EMBEDDED
def test_the_wizard_says_a_name_is_taken_while_typing_and_at_create(
    owner_client: Client, team: Entity, git_root: Path
) -> None:
    load_builtin_templates()
    Entity.objects.create(kind="Component", name="orders-service", owner_ref=team.ref)
    live = owner_client.post(
        "/create/default/python-service/validate",
        {"field": "name", "page": "0", "state": "{}", "name": "orders-service"},
        headers={"HX-Request": "true"},
    )
    assert live.status_code == 422
    assert "A service named orders-service already exists in the catalog" in live.content.decode()
    values = {
        **VALUES,
        "name": "orders-service",
        "repoUrl": "localhost?owner=team-orders&repo=orders-service",
    }
    create = owner_client.post(
        "/create/default/python-service/",
        {"state": json.dumps(values), "page": "1", "action": "create"},
    )
    assert create.status_code == 422
    assert "The catalog already has component:default/orders-service" in create.content.decode()
    assert not Run.objects.exists()
    assert not (git_root / "team-orders" / "orders-service.git").exists()
