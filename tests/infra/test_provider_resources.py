"""The preset Compositions against the real provider: every composed managed resource is valid
against provider-upjet-aws's CRD (as function-patch-and-transform composes it from an XR), every
connection detail a Composition reads is one the provider writes, and the keys that reach the
service (PushSecret -> store -> ExternalSecret -> envFrom) are the class's keys."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from infra.crossplane import (
    export_composition,
    render_claim,
    render_connection_external_secret,
    render_connection_push_secret,
)
from infra.models import Composition, CrossplaneVersion, ResourceClass
from tests.schemas.compose import _MISSING, compose, field_path
from tests.schemas.validate import AWS_PROVIDER, ControlPlane

pytestmark = pytest.mark.django_db

# The connection-secret keys each kind writes besides `attribute.<sensitive argument>`, from
# provider-upjet-aws v2.6.0 (857b535d) `AdditionalConnectionDetailsFn` in
# config/cluster/<group>/config.go and config/namespaced/<group>/config.go (identical keys).
PROVIDER_WRITES: dict[tuple[str, str], set[str]] = {
    # aws_db_instance: endpoint is "address:port"; address and host are the hostname.
    ("rds", "Instance"): {"endpoint", "address", "host", "username", "port", "password"},
    # aws_elasticache_replication_group
    ("elasticache", "ReplicationGroup"): {
        "configuration_endpoint_address", "primary_endpoint_address",
        "reader_endpoint_address", "port",
    },
    ("sqs", "Queue"): {"url"},  # aws_sqs_queue
    ("s3", "Bucket"): {"id", "arn", "region"},  # aws_s3_bucket
}  # fmt: skip

# (class version, export target, control plane): every way the presets reach a cluster.
CASES = [(CrossplaneVersion.V1, "v2", "v2"), (CrossplaneVersion.V1, "v1", "v1.20"),
         (CrossplaneVersion.V2, "v2", "v2")]  # fmt: skip
IDS = ["v1-classes-on-v2", "v1-classes-on-1.20", "v2-classes"]


def _parameters(rc: ResourceClass, tier: str) -> dict[str, Any]:
    params: dict[str, Any] = {"tier": tier, "region": "eu-central-1"}
    for name, prop in rc.parameter_properties().items():
        if name not in params:
            params[name] = 20 if prop.get("type") == "integer" else True
    return params


def _xr(rc: ResourceClass, *, tier: str, namespaced: bool) -> dict[str, Any]:
    """The composite resource Crossplane hands the function (for a claim: the XR it made)."""
    claim = render_claim(rc, name="orders-db", namespace="orders-api",
                         parameters=_parameters(rc, tier), provider="aws", environment="dev")  # fmt: skip
    meta: dict[str, Any] = {"name": "orders-db-x7k2q", "uid": "6f1c2a9e-1b7d-4c55-9d0e-2f9a"}
    if namespaced:
        meta = {"name": "orders-db", "namespace": "orders-api"}
    return {"apiVersion": claim["apiVersion"], "kind": rc.xr_kind, "metadata": meta,
            "spec": claim["spec"]}  # fmt: skip


def _composed(
    version: str, target: str
) -> Iterator[tuple[Composition, dict[str, Any], dict[str, Any]]]:
    """(composition, resource template, composed resource) for every preset and both tiers."""
    compositions = Composition.objects.select_related("resource_class").order_by("name")
    assert compositions.count() == 12
    for composition in compositions:
        composition.resource_class.crossplane_version = version
        exported = export_composition(composition, target=target)
        spec = exported["spec"]
        resources = (
            spec["pipeline"][0]["input"]["resources"] if target == "v2" else spec["resources"]
        )
        for tier in ("standard", "large"):
            xr = _xr(
                composition.resource_class, tier=tier, namespaced=version == CrossplaneVersion.V2
            )
            for resource in resources:
                yield composition, resource, compose(resource, xr)


def _plane(crossplane: str) -> ControlPlane:
    return ControlPlane(crossplane=crossplane, providers=(AWS_PROVIDER,))


def _schema_of(plane: ControlPlane, obj: Mapping[str, Any]) -> dict[str, Any]:
    group, _, version = obj["apiVersion"].rpartition("/")
    schema = plane.schemas().get((group, version, obj["kind"]))
    assert schema is not None, f"provider-upjet-aws serves no {obj['apiVersion']} {obj['kind']}"
    return schema.openapi


def _kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    return obj["apiVersion"].split(".", 1)[0], obj["kind"]


@pytest.mark.parametrize(("version", "target", "crossplane"), CASES, ids=IDS)
def test_every_composed_resource_is_valid_against_the_provider_crd(
    version: str, target: str, crossplane: str
) -> None:
    plane = _plane(crossplane)
    checked = 0
    for composition, _, composed in _composed(version, target):
        scope = "namespaced" if version == CrossplaneVersion.V2 else "cluster"
        assert (".m.upbound.io/" in composed["apiVersion"]) == (scope == "namespaced"), composition
        plane.check(composed)
        checked += 1
    assert checked == 12 * 2


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _written_keys(composed: Mapping[str, Any]) -> set[str]:
    """The keys the provider writes to this resource's connection secret: its fixed keys, and
    `attribute.<argument>` for each sensitive argument this resource sets (upjet's rule)."""
    sensitive = {
        f"attribute.{_snake(name.removesuffix('SecretRef'))}"
        for name in composed["spec"].get("forProvider", {})
        if name.endswith("SecretRef")
    }
    return PROVIDER_WRITES[_kind(composed)] | sensitive


def _schema_has(openapi: Mapping[str, Any], path: str) -> bool:
    node: Mapping[str, Any] = openapi
    for part in path.split("."):
        node = (node.get("properties") or {}).get(part, {})
        if not node:
            return False
    return node.get("type") in {"string", "integer", "number", "boolean"}


@pytest.mark.parametrize(("version", "target", "crossplane"), CASES, ids=IDS)
def test_every_connection_detail_is_one_the_provider_writes(
    version: str, target: str, crossplane: str
) -> None:
    plane = _plane(crossplane)
    for composition, resource, composed in _composed(version, target):
        openapi = _schema_of(plane, composed)
        for detail in resource["connectionDetails"]:
            where = f"{composition.name} {resource['name']} {detail['name']}"
            if detail["type"] == "FromConnectionSecretKey":
                key = detail["fromConnectionSecretKey"]
                written = _written_keys(composed)
                assert key in written, (
                    f"{where}: the provider never writes {key!r}; it writes {sorted(written)}"
                )
            elif detail["type"] == "FromFieldPath":
                path = detail["fromFieldPath"]
                assert _schema_has(openapi, path), (
                    f"{where}: {composed['kind']} has no scalar {path}"
                )
                if path.startswith("spec."):
                    assert field_path(composed, path) is not _MISSING, (
                        f"{where}: {path} is never set"
                    )
            else:
                pytest.fail(f"{where}: unexpected connection detail type {detail['type']}")


_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def _environment(external: Mapping[str, Any], keys: list[str]) -> list[str]:
    """The variables the service sees: the Secret's keys after the ExternalSecret's rewrite
    (the only template it uses is `<PREFIX>{{ .value | upper }}`), read whole by envFrom."""
    [source] = external["spec"]["dataFrom"]
    [rewrite] = source["rewrite"]
    template = rewrite["transform"]["template"]
    prefix, marker, rest = template.partition("{{ .value | upper }}")
    assert marker, template
    assert not rest, template
    return [prefix + key.upper() for key in keys]


@pytest.mark.parametrize(("version", "target", "crossplane"), CASES, ids=IDS)
def test_the_service_receives_every_class_key_as_an_environment_variable(
    version: str, target: str, crossplane: str
) -> None:
    """Composition -> `<name>-secret` -> PushSecret -> store -> ExternalSecret -> envFrom: the
    same keys at every hop, each a variable of its own even when one service reads several
    requests (a database and a cache both have a password)."""
    seen: dict[str, list[str]] = {}
    for composition, resource, _ in _composed(version, target):
        rc = composition.resource_class
        if rc.name in seen:
            continue
        keys = list(rc.connection_secret_keys)
        assert [d["name"] for d in resource["connectionDetails"]] == keys
        name = f"orders-{rc.name}"
        push = render_connection_push_secret(rc, name=name, namespace="orders-api",
                                             environment="dev", store="platform-secrets")  # fmt: skip
        external = render_connection_external_secret(name=name, namespace="orders-api",
                                                      environment="dev", store="platform-secrets")  # fmt: skip
        assert push is not None
        assert push["spec"]["selector"]["secret"]["name"] == f"{name}-secret"
        pushed = {d["match"]["remoteRef"]["remoteKey"] for d in push["spec"]["data"]}
        assert pushed == {external["spec"]["dataFrom"][0]["extract"]["key"]}
        assert [d["match"]["remoteRef"]["property"] for d in push["spec"]["data"]] == keys
        seen[rc.name] = _environment(external, keys)
        assert all(_ENV_NAME.match(var) for var in seen[rc.name]), seen[rc.name]
    assert seen["postgresql"] == ["ORDERS_POSTGRESQL_USERNAME", "ORDERS_POSTGRESQL_PASSWORD",
                                  "ORDERS_POSTGRESQL_ENDPOINT", "ORDERS_POSTGRESQL_PORT",
                                  "ORDERS_POSTGRESQL_DATABASE"]  # fmt: skip
    every = [var for variables in seen.values() for var in variables]
    assert len(every) == len(set(every)) == 5 + 3 + 2 + 3


def test_the_provider_crd_refuses_what_the_presets_used_to_compose() -> None:
    """The check bites: a boolean atRestEncryptionEnabled (the old preset) and a managed
    RDS instance without an instance class are refused by provider-upjet-aws's schema and CEL rules."""
    plane = _plane("v2")
    _, _, redis = next(c for c in _composed(CrossplaneVersion.V1, "v2")
                       if c[2]["kind"] == "ReplicationGroup")  # fmt: skip
    redis["spec"]["forProvider"]["atRestEncryptionEnabled"] = True
    assert any("is not of type 'string'" in e for e in plane.errors(redis))
    _, _, rds = next(c for c in _composed(CrossplaneVersion.V1, "v2") if c[2]["kind"] == "Instance")
    del rds["spec"]["forProvider"]["instanceClass"]  # required through a CEL rule
    assert any("instanceClass is a required parameter" in e for e in plane.errors(rds))


def test_the_migration_brings_installed_presets_in_line() -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("infra.migrations.0005_preset_connection_keys")
    ResourceClass.objects.filter(name="postgresql").update(
        connection_secret_keys=["username", "password", "endpoint", "port"]
    )
    old = Composition.objects.get(name="redis-aws-dev")
    old.resources_yaml = old.resources_yaml.replace("atRestEncryptionEnabled: 'true'",
                                                    "atRestEncryptionEnabled: true")  # fmt: skip
    old.save()
    edited = ResourceClass.objects.get(name="bucket")
    migration.forwards(apps, None)
    assert ResourceClass.objects.get(name="postgresql").connection_secret_keys[-1] == "database"
    resources = Composition.objects.get(name="redis-aws-dev").resources
    assert resources[0]["base"]["spec"]["forProvider"]["atRestEncryptionEnabled"] == "true"
    assert (
        ResourceClass.objects.get(name="bucket").connection_secret_keys
        == edited.connection_secret_keys
    )
