"""Every Crossplane and External Secrets object Paved writes for infrastructure is valid
against the published CRDs: claims (v1) and namespaced composite resources (v2) against the
schema Crossplane generates from the exported XRD, PushSecret/ExternalSecret against ESO's."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command

from infra.crossplane import (
    export_composition,
    render_claim,
    render_connection_external_secret,
    render_connection_push_secret,
    render_xrd,
)
from infra.models import CrossplaneVersion, ResourceClass
from infra.presets import ENVIRONMENTS
from tests.infra.conftest import SEED_CLAIM
from tests.schemas.validate import ControlPlane

pytestmark = pytest.mark.django_db


def _parameters(rc: ResourceClass) -> dict[str, object]:
    params: dict[str, object] = {"tier": "standard", "region": "eu-west-1"}
    if "storageGB" in rc.parameter_properties():
        params["storageGB"] = 20
    return params


@pytest.mark.parametrize(("version", "plane"), [(CrossplaneVersion.V1, "v1.20"),
                                                 (CrossplaneVersion.V2, "v2")])  # fmt: skip
def test_claims_and_connection_secrets_are_valid(version: str, plane: str) -> None:
    control_plane = ControlPlane(crossplane=plane)
    objects = []
    for rc in ResourceClass.objects.order_by("name"):
        rc.crossplane_version = version
        control_plane.install_xrd(render_xrd(rc))
        for env in ENVIRONMENTS:
            name = f"{rc.name}-{env}"
            objects.append(render_claim(rc, name=name, namespace="orders-api",
                                        parameters=_parameters(rc), provider="aws", environment=env))  # fmt: skip
            push = render_connection_push_secret(rc, name=name, namespace="orders-api",
                                                 environment=env, store="platform-secrets")  # fmt: skip
            assert push is not None
            objects += [push, render_connection_external_secret(
                name=name, namespace="orders-api", environment=env, store="platform-secrets")]  # fmt: skip
    assert control_plane.check_all(objects) == 4 * 3 * 3


def test_the_seed_claim_is_valid_on_a_v1_control_plane() -> None:
    control_plane = ControlPlane(crossplane="v1.20")
    control_plane.install_xrd(render_xrd(ResourceClass.objects.get(name="postgresql")))
    control_plane.check(SEED_CLAIM)
    wrong = copy.deepcopy(SEED_CLAIM)
    wrong["spec"]["crossplane"] = {}  # type: ignore[index]
    assert any("'crossplane' was unexpected" in e for e in control_plane.errors(wrong))


def _exported(directory: Path) -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted(directory.rglob("*.yaml"))]


@pytest.mark.parametrize("v2_class", [False, True], ids=["v1-classes", "redis-as-v2"])
def test_the_default_export_is_accepted_by_crossplane_v2(tmp_path: Path, v2_class: bool) -> None:
    if v2_class:
        ResourceClass.objects.filter(name="redis").update(crossplane_version=CrossplaneVersion.V2)
    call_command("infra", "export-crossplane", str(tmp_path / "out"))
    objects = _exported(tmp_path / "out")
    plane = ControlPlane(crossplane="v2")
    for xrd in (o for o in objects if o["kind"] == "CompositeResourceDefinition"):
        plane.install_xrd(xrd)
    assert plane.check_all(objects) == len(objects) == 4 + 12 + 1
    compositions = [o for o in objects if o["kind"] == "Composition"]
    assert all(c["spec"]["mode"] == "Pipeline" for c in compositions)
    # ...and Crossplane v1.20 rejects none of it either, but v2 rejects native mode outright.
    native = {**compositions[0], "spec": {"compositeTypeRef": compositions[0]["spec"]["compositeTypeRef"],
                                          "resources": [{"name": "r", "base": {}}]}}  # fmt: skip
    errors = plane.errors(native)
    assert any("'resources' was unexpected" in e for e in errors)
    assert any("an array of pipeline steps is required in Pipeline mode" in e for e in errors)


def test_the_v1_export_is_accepted_by_crossplane_1_20(tmp_path: Path) -> None:
    call_command("infra", "export-crossplane", str(tmp_path / "out"), "--crossplane", "v1")
    objects = _exported(tmp_path / "out")
    plane = ControlPlane(crossplane="v1.20")
    for xrd in (o for o in objects if o["kind"] == "CompositeResourceDefinition"):
        plane.install_xrd(xrd)
    assert plane.check_all(objects) == len(objects) == 4 + 12


@pytest.mark.parametrize(("version", "target"), [(CrossplaneVersion.V1, "v1"),
                                                  (CrossplaneVersion.V1, "v2"),
                                                  (CrossplaneVersion.V2, "v2")])  # fmt: skip
def test_connection_details_reach_the_secret_the_service_reads(version: str, target: str) -> None:
    """The claim/XR names `<name>-secret`; the PushSecret copies exactly that Secret; the
    Composition makes every connection key the class declares end up in it."""
    for rc in ResourceClass.objects.order_by("name"):
        rc.crossplane_version = version
        rc.save()
        claim = render_claim(rc, name="orders-db", namespace="orders-api",
                             parameters=_parameters(rc), provider="aws", environment="dev")  # fmt: skip
        push = render_connection_push_secret(rc, name="orders-db", namespace="orders-api",
                                             environment="dev", store="platform-secrets")  # fmt: skip
        assert push is not None
        secret = claim["spec"]["writeConnectionSecretToRef"]["name"]
        assert secret == push["spec"]["selector"]["secret"]["name"] == "orders-db-secret"
        assert [d["match"]["secretKey"] for d in push["spec"]["data"]] == rc.connection_secret_keys
        composition = export_composition(rc.compositions.get(environment="dev"), target=target)
        spec = composition["spec"]
        resources = (spec["pipeline"][0]["input"]["resources"] if target == "v2"
                     else spec["resources"])  # fmt: skip
        published = [d["name"] for r in resources for d in r["connectionDetails"]]
        assert published == rc.connection_secret_keys
        for resource in resources:
            # The composed resource writes its own connection secret, named per XR.
            assert any(p["toFieldPath"] == "spec.writeConnectionSecretToRef.name"
                       for p in resource["patches"])  # fmt: skip
        if version == CrossplaneVersion.V1:
            # Crossplane writes the XR's secret there and copies the XRD's keys to the claim's.
            assert spec["writeConnectionSecretsToNamespace"] == "crossplane-system"
            assert render_xrd(rc)["spec"]["connectionSecretKeys"] == rc.connection_secret_keys
            assert all(".m." not in r["base"]["apiVersion"] for r in resources)
        else:
            # function-patch-and-transform composes the Secret the XR's
            # spec.writeConnectionSecretToRef names, which the v2 XRD declares.
            assert "writeConnectionSecretsToNamespace" not in spec
            xr_spec = render_xrd(rc)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
            assert "writeConnectionSecretToRef" in xr_spec["properties"]["spec"]["properties"]
            assert all(".m.upbound.io/" in r["base"]["apiVersion"] for r in resources)
