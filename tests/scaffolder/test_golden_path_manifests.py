"""What Argo CD applies for a new service: `kubectl kustomize deploy/k8s` of every rendered
option combination. Services select the Rollout's pods, routes point at Services that exist."""

from __future__ import annotations

import copy
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

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


def _git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_ci_release_job_records_the_built_image_and_argo_cd_deploys_it(tmp_path: Path) -> None:
    """The release job's own script, run on a clone of the new repository: the tag CI pushed
    ends up in what kustomize builds, in one commit on main, and a re-run changes nothing."""
    tree = render(all_variants()[0], tmp_path / "out")
    _git("add", "-A", cwd=tree)
    _git("-c", "user.name=Paved", "-c", "user.email=paved@example.com",
         "commit", "-qm", "Scaffold", cwd=tree)  # fmt: skip
    origin = tmp_path / "origin.git"
    _git("clone", "-q", "--bare", str(tree), str(origin), cwd=tmp_path)
    clone = tmp_path / "clone"
    _git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    before = kustomize(clone / "deploy/k8s")
    assert _by_kind(before)["Rollout"][0]["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "ghcr.io/acme/orders-api:pending-first-build"
    )

    workflow = yaml.safe_load((tree / ".github/workflows/ci.yaml").read_text())
    release = workflow["jobs"]["release"]
    assert release["needs"] == "build"
    assert release["permissions"] == {"contents": "write"}
    [script] = [s["run"] for s in release["steps"] if "run" in s]
    sha = "1234567890" * 4  # all digits: must stay a string in YAML
    for _ in range(2):
        done = subprocess.run(["bash", "-e", "-c", script], cwd=clone, env={**os.environ, "TAG": sha},
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr

    log = _git("log", "--format=%s", "main", cwd=origin).splitlines()
    assert log == ["Deploy 123456789012 [skip ci]", "Scaffold"]  # the re-run committed nothing
    published = tmp_path / "published"
    _git("clone", "-q", str(origin), str(published), cwd=tmp_path)
    kustomization = yaml.safe_load((published / "deploy/k8s/kustomization.yaml").read_text())
    assert kustomization["images"][0]["newTag"] == sha
    [rollout] = _by_kind(kustomize(published / "deploy/k8s"))["Rollout"]
    container = rollout["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"ghcr.io/acme/orders-api:{sha}"
    # The build job pushes exactly that name (lower-cased repository) and tag.
    build = workflow["jobs"]["build"]
    assert "${GITHUB_REPOSITORY,,}" in build["steps"][1]["run"]
    push = next(s for s in build["steps"] if s.get("name") == "Push")
    assert "${{ steps.name.outputs.image }}:${{ github.sha }}" in push["run"]


@pytest.mark.parametrize("canary", [True, False], ids=["canary", "bluegreen"])
def test_the_rollout_is_analysed_on_the_metrics_the_app_exports(
    canary: bool, tmp_path: Path
) -> None:
    variant = Variant(canary, True, ("none", "platform"), False)
    tree = render(variant, tmp_path / "out")
    objects = _by_kind(kustomize(tree / "deploy/k8s"))
    [rollout], [template] = objects["Rollout"], objects["AnalysisTemplate"]
    strategy = rollout["spec"]["strategy"]
    analysis = (
        strategy["canary"]["analysis"] if canary else strategy["blueGreen"]["postPromotionAnalysis"]
    )
    assert analysis["templates"] == [{"templateName": template["metadata"]["name"]}]
    assert analysis["args"] == [
        {"name": "revision", "valueFrom": {"podTemplateHashValue": "Latest"}}
    ]
    assert [a["name"] for a in template["spec"]["args"]] == ["revision"]
    if canary:
        assert analysis["startingStep"] == 1  # measured from the first canary step on

    # Prometheus names the OpenTelemetry histogram http.server.request.duration (seconds) like
    # this; the app's own test (tests/test_telemetry.py) proves it exports that histogram.
    telemetry = (tree / "app/telemetry.py").read_text()
    assert "http.server.request.duration" in telemetry
    assert 'SERVICE_NAMESPACE = "team-orders"' in telemetry
    env = {e["name"]: e for e in rollout["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["OTEL_SERVICE_NAME"]["value"] == "orders-api"
    assert (
        "rollouts.pod_template_hash=$(POD_TEMPLATE_HASH)"
        in env["OTEL_RESOURCE_ATTRIBUTES"]["value"]
    )
    assert env["POD_TEMPLATE_HASH"]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.labels['rollouts-pod-template-hash']"
    )
    metrics = {m["name"]: m for m in template["spec"]["metrics"]}
    assert set(metrics) == {"success-rate", "latency-p95"}
    for metric in metrics.values():
        query = metric["provider"]["prometheus"]["query"]
        assert "http_server_request_duration_seconds" in query
        assert 'job="team-orders/orders-api"' in query  # service.namespace/service.name
        assert 'rollouts_pod_template_hash="{{args.revision}}"' in query
        assert metric["provider"]["prometheus"]["address"].startswith("http://prometheus")
        assert metric["successCondition"].startswith("isNaN(result) || ")
        assert metric["failureLimit"] == 1
    assert (
        'http_response_status_code!~"5.."'
        in metrics["success-rate"]["provider"]["prometheus"]["query"]
    )


def test_argo_cd_leaves_the_canary_weights_to_the_rollouts_plugin(tmp_path: Path) -> None:
    from portal.providers.base import ApplicationSpec
    from portal.providers.manifests import application_manifest

    tree = render(Variant(True, True, ("none", "platform"), False), tmp_path / "out")
    [route] = _by_kind(kustomize(tree / "deploy/k8s"))["HTTPRoute"]
    app = application_manifest(
        ApplicationSpec(name="orders-api-dev", repo_url="https://github.com/acme/orders-api.git",
                        path="deploy/k8s", destination_namespace="orders-api"),
        argocd_namespace="argocd",
    )  # fmt: skip
    [ignored] = app["spec"]["ignoreDifferences"]
    assert (ignored["group"], ignored["kind"]) == ("gateway.networking.k8s.io", "HTTPRoute")
    assert ignored["jqPathExpressions"] == [".spec.rules[].backendRefs[].weight"]
    # The expression names the fields the plugin changes in the route the service ships.
    weights = [b["weight"] for rule in route["spec"]["rules"] for b in rule["backendRefs"]]
    assert weights == [100, 0]
    assert "RespectIgnoreDifferences=true" in app["spec"]["syncPolicy"]["syncOptions"]
    assert app["spec"]["syncPolicy"]["automated"]["selfHeal"] is True


class _Tilt:
    """Tilt's Tiltfile API for what the skeleton's Tiltfile calls: kustomize really runs, the
    rest is recorded. The Tiltfile is Starlark, which for this file Python runs the same way."""

    def __init__(self, tree: Path) -> None:
        self.tree = tree
        self.objects: list[dict[str, Any]] = []
        self.builds: list[tuple[str, str, dict[str, Any]]] = []
        self.resources: dict[str, Any] = {}

    def api(self) -> dict[str, Any]:
        return {
            "allow_k8s_contexts": lambda contexts: None,
            "kustomize": lambda path: (
                subprocess.run(
                    ["kubectl", "kustomize", str(self.tree / path)],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            ),
            "decode_yaml_stream": lambda text: [d for d in yaml.safe_load_all(text) if d],
            "encode_yaml_stream": lambda objects: yaml.safe_dump_all(objects),
            "k8s_yaml": lambda text: self.objects.extend(yaml.safe_load_all(text)),
            "docker_build": lambda ref, context, **kw: self.builds.append((ref, context, kw)),
            "sync": lambda local, remote: (local, remote),
            "k8s_resource": lambda name, **kw: self.resources.__setitem__(name, kw),
        }


def test_tiltfile_runs_the_service_on_a_local_cluster(tmp_path: Path) -> None:
    tree = render(Variant(True, True, ("none", "platform"), False), tmp_path / "out")
    tilt = _Tilt(tree)
    exec(compile((tree / "Tiltfile").read_text(), "Tiltfile", "exec"), tilt.api())  # noqa: S102
    kinds = sorted(o["kind"] for o in tilt.objects)
    assert kinds == ["Deployment", "Service", "Service"]
    assert ControlPlane().check_all(tilt.objects) == 3  # valid for a plain cluster
    deployment = next(o for o in tilt.objects if o["kind"] == "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    for service in (o for o in tilt.objects if o["kind"] == "Service"):
        assert service["spec"]["selector"].items() <= pod_labels.items()
    [(ref, context, options)] = tilt.builds
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.split(":")[0] == ref == "ghcr.io/acme/orders-api"  # Tilt swaps in its build
    assert context == "."
    assert options["live_update"] == [("app", "/usr/local/lib/python3.13/site-packages/app")]
    assert tilt.resources == {"orders-api": {"port_forwards": ["8000:8000"]}}
    assert (tree / ".devcontainer/devcontainer.json").exists()
