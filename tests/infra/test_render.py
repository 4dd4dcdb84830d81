"""`manage.py infra render REQUEST.yaml [--json]`: validate and print the claim, no side effects."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command

from catalog.models import Entity
from infra.models import Policy, RequestStatus, ResourceClass, ResourceRequest
from runs.models import Run
from tests.infra.conftest import SEED_CLAIM, SEED_REQUEST

pytestmark = pytest.mark.django_db


def render(tmp_path: Path, doc: dict[str, Any], *args: str) -> tuple[int, str, str]:
    path = tmp_path / "request.yaml"
    path.write_text(yaml.safe_dump(doc))
    out, err = StringIO(), StringIO()
    try:
        call_command("infra", "render", str(path), *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_seed_request_renders_the_seed_claim_field_for_field(tmp_path: Path) -> None:
    code, out, err = render(tmp_path, SEED_REQUEST)
    assert (code, err) == (0, "")
    assert yaml.safe_load(out) == SEED_CLAIM
    # Field order as in the seed.
    assert (
        out.index("parameters")
        < out.index("compositionSelector")
        < out.index("writeConnectionSecretToRef")
    )


def test_json_output(tmp_path: Path) -> None:
    code, out, _ = render(tmp_path, SEED_REQUEST, "--json")
    assert code == 0
    assert json.loads(out) == SEED_CLAIM


def test_render_has_no_side_effects(tmp_path: Path) -> None:
    render(tmp_path, SEED_REQUEST)
    assert ResourceRequest.objects.count() == 0
    assert Run.objects.count() == 0


def test_defaults_are_filled_in(tmp_path: Path) -> None:
    doc = {**SEED_REQUEST, "parameters": {"storageGB": 20, "region": "ap-northeast-2"}}
    code, out, _ = render(tmp_path, doc)
    assert code == 0
    assert yaml.safe_load(out)["spec"]["parameters"] == {
        "storageGB": 20,
        "tier": "standard",
        "region": "ap-northeast-2",
        "backupEnabled": True,
    }


def test_invalid_request_exits_1_with_one_line_per_problem(tmp_path: Path) -> None:
    doc = {
        **SEED_REQUEST,
        "name": "Orders_DB",
        "parameters": {"storageGB": 5, "tier": "gold", "region": "ap-northeast-2", "colour": "red"},
    }
    code, out, err = render(tmp_path, doc)
    assert code == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert any(
        line.startswith("name: 'Orders_DB' is not a valid Kubernetes name") for line in lines
    )
    assert "parameters.storageGB: must be between 10 and 1000 (got 5)" in lines
    assert "parameters.tier: 'gold' is not one of: standard, large" in lines
    assert any(
        line.startswith("parameters.colour: unknown parameter for postgresql") for line in lines
    )
    assert len(lines) == 4


def test_unknown_class_and_environment(tmp_path: Path) -> None:
    code, _, err = render(tmp_path, {**SEED_REQUEST, "resourceClass": "oracle"})
    assert code == 1
    assert err.startswith("resource_class: unknown resource class 'oracle'; known: bucket")
    code, _, err = render(tmp_path, {**SEED_REQUEST, "environment": "moon"})
    assert code == 1
    assert "environment: postgresql is not offered in environment 'moon'" in err


def test_policy_region_is_checked(tmp_path: Path) -> None:
    doc = {**SEED_REQUEST, "parameters": {**SEED_REQUEST["parameters"], "region": "us-west-2"}}
    code, _, err = render(tmp_path, doc)
    assert code == 1
    assert "parameters.region: region 'us-west-2' is not allowed in production; allowed:" in err
    # The same region is fine where the policy allows any.
    code, _, _ = render(tmp_path, {**doc, "environment": "dev"})
    assert code == 0


def test_name_clash_and_quota_are_checked(tmp_path: Path, team: Entity) -> None:
    component = Entity.objects.create(kind="Component", name="orders-service", owner_ref=team.ref)
    ResourceRequest.objects.create(
        resource_class=ResourceClass.objects.get(name="postgresql"),
        component=component,
        owner_ref=team.ref,
        name="orders-db",
        namespace="orders-service",
        environment="production",
        parameters={"storageGB": 4990},
        status=RequestStatus.READY,
    )
    code, _, err = render(tmp_path, SEED_REQUEST)
    assert code == 1
    assert "name: a PostgreSQLInstance named 'orders-db' already exists" in err
    code, _, err = render(
        tmp_path, {**SEED_REQUEST, "name": "orders-db2", "component": "orders-service"}
    )
    assert code == 1
    assert "quota: group:default/team-orders would use 5010 GB of its 5000 GB storage quota" in err
    Policy.objects.filter(environment="production").update(max_resources_per_team=1)
    code, _, err = render(
        tmp_path, {**SEED_REQUEST, "name": "orders-db2", "component": "orders-service"}
    )
    assert "already has 1 of its 1 resources in production" in err


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="cannot read"):
        call_command("infra", "render", str(tmp_path / "missing.yaml"))
    (tmp_path / "bad.yaml").write_text("- just\n- a list\n")
    with pytest.raises(CommandError, match="must hold a mapping"):
        call_command("infra", "render", str(tmp_path / "bad.yaml"))
