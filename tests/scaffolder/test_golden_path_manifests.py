"""What Argo CD applies for a new service: `kubectl kustomize deploy/k8s` of every rendered
option combination. Services select the Rollout's pods, routes point at Services that exist."""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.scaffolder.golden import Variant, all_variants, kustomize, render
from tests.schemas.validate import ControlPlane

LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def _by_kind(objects: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        out.setdefault(obj["kind"], []).append(obj)
    return out


@pytest.mark.parametrize("variant", all_variants(), ids=lambda v: v.label)
def test_services_select_the_rollout_pods_after_kustomize(variant: Variant, tmp_path: Path) -> None:
    tree = render(variant, tmp_path / "out")
    built = subprocess.run(["kubectl", "kustomize", str(tree / "deploy/k8s")],
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert "deprecated" not in built.stderr, built.stderr
    objects = _by_kind(kustomize(tree / "deploy/k8s"))

    [rollout] = objects["Rollout"]
    pod_labels = rollout["spec"]["template"]["metadata"]["labels"]
    assert rollout["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    services = {s["metadata"]["name"]: s for s in objects["Service"]}
    for name, service in services.items():
        selector = service["spec"]["selector"]
        assert selector, name
        assert selector.items() <= pod_labels.items(), (name, selector, pod_labels)

    strategy = rollout["spec"]["strategy"]
    if variant.canary:
        assert {strategy["canary"]["stableService"], strategy["canary"]["canaryService"]} == set(
            services
        )
    else:
        assert set(services) == {strategy["blueGreen"]["activeService"]}
    [route] = objects["HTTPRoute"]
    backends = [b["name"] for rule in route["spec"]["rules"] for b in rule["backendRefs"]]
    assert backends
    assert set(backends) <= set(services)

    # Every label anywhere is a valid label value (a system ref like system:default/shop is not).
    for obj in [o for group in objects.values() for o in group]:
        for value in (obj["metadata"].get("labels") or {}).values():
            assert LABEL_VALUE.match(value), (obj["kind"], value)
    for value in pod_labels.values():
        assert LABEL_VALUE.match(value), value
    expected_part_of = "shop" if variant.system else variant.name
    assert pod_labels["app.kubernetes.io/part-of"] == expected_part_of
    assert pod_labels["paved.dev/owner"] == "team-orders"
    assert all(o["metadata"]["namespace"] == variant.name for g in objects.values() for o in g)


@pytest.mark.parametrize("variant", all_variants(), ids=lambda v: v.label)
def test_every_skeleton_manifest_is_valid_against_the_published_schemas(
    variant: Variant, tmp_path: Path
) -> None:
    tree = render(variant, tmp_path / "out")
    objects = kustomize(tree / "deploy/k8s")
    assert ControlPlane().check_all(objects) == len(objects)
    assert {o["kind"] for o in objects} >= {"Rollout", "Service", "HTTPRoute", "ExternalSecret"}


def test_the_validator_refuses_what_an_api_server_would(tmp_path: Path) -> None:
    """The check above is only worth something if it fails on a real mistake."""
    tree = render(all_variants()[0], tmp_path / "out")
    by_kind = _by_kind(kustomize(tree / "deploy/k8s"))
    plane = ControlPlane()
    rollout = copy.deepcopy(by_kind["Rollout"][0])
    rollout["spec"]["strategy"]["canary"]["stepz"] = []
    assert any("'stepz' was unexpected" in e for e in plane.errors(rollout))
    route = copy.deepcopy(by_kind["HTTPRoute"][0])
    route["spec"]["rules"][0]["matches"][0]["path"]["value"] = "no-slash"
    assert any("must be an absolute path" in e for e in plane.errors(route)), plane.errors(route)
    service = copy.deepcopy(by_kind["Service"][0])
    service["spec"]["ports"][0]["port"] = "eighty"
    assert plane.errors(service)
    secret = copy.deepcopy(by_kind["ExternalSecret"][0])
    secret["metadata"]["labels"]["app.kubernetes.io/part-of"] = "system:default/shop"
    assert any("not a valid label value" in e for e in plane.errors(secret))
