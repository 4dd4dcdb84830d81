"""Every Crossplane and External Secrets object Paved writes for infrastructure is valid
against the published CRDs: claims (v1) and namespaced composite resources (v2) against the
schema Crossplane generates from the exported XRD, PushSecret/ExternalSecret against ESO's."""

from __future__ import annotations

import pytest

from infra.crossplane import (
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
    wrong = {**SEED_CLAIM, "spec": {**SEED_CLAIM["spec"], "crossplane": {}}}
    assert any("'crossplane' was unexpected" in e for e in control_plane.errors(wrong))
