"""The golden path's platform wiring: secrets through External Secrets Operator, traffic through
the Gateway API next to the Argo Rollouts canary, and the template's on-call choice — rendered
with `scaffold dry-run` (settings overridden per test) and run in process against the loopback
PagerDuty."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from catalog.models import Entity
from portal.settings import _check_host_pattern
from runs.models import RunStatus, StepStatus
from scaffolder.demo import load_builtin_templates
from scaffolder.expressions import ExpressionError, evaluate
from scaffolder.models import TemplateVersion
from scaffolder.platform import platform_context
from scaffolder.services import start_template_run
from tests.fakes.pagerduty import FakePagerDuty
from tests.scaffolder.providers import DiskGitHost
from tests.scaffolder.test_template_runs import TEST_PROVIDERS, drive, golden_values

TEMPLATE = Path(__file__).resolve().parents[2] / "scaffolder/templates_builtin/python-service/template.yaml"  # fmt: skip
VALUES = {"name": "orders-api", "owner": "group:default/team-orders",
          "repoUrl": "github.com?owner=acme&repo=orders-api", "environment": "staging"}  # fmt: skip

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _providers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAVED_TEST_PROVIDER_DIR", str(tmp_path / "providers"))


@pytest.fixture
def platform(settings: Any) -> Any:
    """A platform team that named its own store, Gateway and host pattern."""
    settings.PAVED_CLUSTER_SECRET_STORE = "vault-prod"
    settings.PAVED_GATEWAY_NAME = "edge"
    settings.PAVED_GATEWAY_NAMESPACE = "ingress"
    settings.PAVED_SERVICE_HOST_PATTERN = "{name}-{environment}.svc.acme.io"
    settings.PAVED_ROLLOUTS_GATEWAY_PLUGIN = True
    settings.PAVED_ONCALL_PROVIDER = "none"
    return settings


def _dry_run(tmp_path: Path, capsys: pytest.CaptureFixture[str], **values: Any) -> dict[str, Any]:
    values_file = tmp_path / "values.json"
    values_file.write_text(json.dumps({**VALUES, **values}))
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        call_command("scaffold", "dry-run", str(TEMPLATE), "--values", str(values_file),
                     "--output", str(out), "--json")  # fmt: skip
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert exit_info.value.code in (0, None), result["error"]
    return result


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _manifests(tmp_path: Path) -> dict[str, dict[str, Any]]:
    k8s = tmp_path / "out/deploy/k8s"
    return {d["kind"]: d for f in sorted(k8s.glob("*.yaml")) for d in _docs(f)}


def test_secrets_come_from_the_platform_store_never_from_git(
    platform: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _dry_run(tmp_path, capsys)
    kustomization = yaml.safe_load((tmp_path / "out/deploy/k8s/kustomization.yaml").read_text())
    assert {"externalsecret.yaml", "httproute.yaml"} <= set(kustomization["resources"])
    by_kind = _manifests(tmp_path)
    external = by_kind["ExternalSecret"]
    assert external["apiVersion"] == "external-secrets.io/v1"
    assert external["spec"]["secretStoreRef"] == {
        "kind": "ClusterSecretStore",
        "name": "vault-prod",
    }
    assert external["spec"]["dataFrom"] == [{"extract": {"key": "staging/orders-api"}}]
    target = external["spec"]["target"]["name"]
    container = by_kind["Rollout"]["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": target, "optional": True}}]
    # No plain Secret anywhere in the repository.
    rendered = [d for f in (tmp_path / "out").rglob("*.yaml") for d in _docs(f)]
    assert not [d for d in rendered if d.get("kind") == "Secret"]


def test_httproute_attaches_to_the_platform_gateway_with_the_patterned_host(
    platform: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _dry_run(tmp_path, capsys)
    by_kind = _manifests(tmp_path)
    route = by_kind["HTTPRoute"]
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "edge",
            "namespace": "ingress",
        }
    ]
    assert route["spec"]["hostnames"] == ["orders-api-staging.svc.acme.io"]
    backends = route["spec"]["rules"][0]["backendRefs"]
    assert backends == [{"name": "orders-api", "port": 80, "weight": 100},
                        {"name": "orders-api-canary", "port": 80, "weight": 0}]  # fmt: skip
    services = {d["metadata"]["name"] for d in _docs(tmp_path / "out/deploy/k8s/service.yaml")}
    assert {b["name"] for b in backends} <= services
    canary = by_kind["Rollout"]["spec"]["strategy"]["canary"]
    assert canary["stableService"] == "orders-api"
    assert canary["trafficRouting"] == {
        "plugins": {
            "argoproj-labs/gatewayAPI": {"httpRoute": "orders-api", "namespace": "orders-api"}
        }
    }
    # The catalog entry carries what the observability links need.
    info = yaml.safe_load((tmp_path / "out/catalog-info.yaml").read_text())
    annotations = info["metadata"]["annotations"]
    assert annotations["paved.dev/namespace"] == "orders-api"
    assert annotations["paved.dev/environment"] == "staging"
    assert annotations["argocd/app-name"] == "orders-api-staging"
    assert "https://orders-api-staging.svc.acme.io" in result["output"]["text"][0]["content"]


def test_without_the_rollouts_plugin_or_canary_all_traffic_goes_to_the_stable_service(
    platform: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    platform.PAVED_ROLLOUTS_GATEWAY_PLUGIN = False
    _dry_run(tmp_path, capsys)
    by_kind = _manifests(tmp_path)
    assert by_kind["HTTPRoute"]["spec"]["rules"][0]["backendRefs"] == [
        {"name": "orders-api", "port": 80}
    ]
    assert "trafficRouting" not in by_kind["Rollout"]["spec"]["strategy"]["canary"]

    platform.PAVED_ROLLOUTS_GATEWAY_PLUGIN = True
    (tmp_path / "blue-green").mkdir()
    _dry_run(tmp_path / "blue-green", capsys, canary=False)
    by_kind = _manifests(tmp_path / "blue-green")
    assert by_kind["HTTPRoute"]["spec"]["rules"][0]["backendRefs"] == [
        {"name": "orders-api", "port": 80}
    ]
    assert by_kind["Rollout"]["spec"]["strategy"]["blueGreen"]["activeService"] == "orders-api"


@pytest.mark.parametrize(
    ("provider", "choice", "runs", "annotation"),
    [
        ("none", "platform", "oncall-team", "paved.dev/on-call"),
        ("none", "pagerduty", "oncall-pagerduty", "paved.dev/on-call"),  # nothing to page with
        ("pagerduty", "platform", "oncall-pagerduty", "pagerduty.com/service-id"),
        ("opsgenie", "platform", "oncall-opsgenie", "opsgenie.com/team"),
        ("opsgenie", "opsgenie", "oncall-opsgenie", "opsgenie.com/team"),
        ("pagerduty", "team", "oncall-team", "paved.dev/on-call"),
    ],
)
def test_the_on_call_choice_runs_exactly_the_matching_step(
    platform: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    provider: str,
    choice: str,
    runs: str,
    annotation: str,
) -> None:
    platform.PAVED_ONCALL_PROVIDER = provider
    result = _dry_run(tmp_path, capsys, onCall=choice)
    ids = [s["id"] for s in result["steps"]]
    assert ids.index(runs) < ids.index("fetch") < ids.index("publish")  # before anything exists
    statuses = {s["id"]: s["status"] for s in result["steps"] if s["id"].startswith("oncall-")}
    assert statuses == {key: "completed" if key == runs else "skipped"
                        for key in ("oncall-pagerduty", "oncall-opsgenie", "oncall-team")}  # fmt: skip
    step = next(s for s in result["steps"] if s["id"] == runs)
    assert step["input"].get("teamOnly", False) is (runs == "oncall-team")
    info = yaml.safe_load((tmp_path / "out/catalog-info.yaml").read_text())
    on_call_keys = {"paved.dev/on-call", "pagerduty.com/service-id", "opsgenie.com/team"}
    assert on_call_keys & set(info["metadata"]["annotations"]) == {annotation}
    if annotation == "paved.dev/on-call":
        assert info["metadata"]["annotations"][annotation] == "group:default/team-orders"
    if annotation == "opsgenie.com/team":
        assert info["metadata"]["annotations"][annotation] == "team-orders"
    runbook = (tmp_path / "out/docs/runbook.md").read_text()
    assert ("No paging rotation was created" in runbook) is (annotation == "paved.dev/on-call")


def test_a_tool_this_paved_does_not_use_fails_before_anything_is_rendered(
    platform: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    platform.PAVED_ONCALL_PROVIDER = "pagerduty"
    values_file = tmp_path / "values.json"
    values_file.write_text(json.dumps({**VALUES, "onCall": "opsgenie"}))
    with pytest.raises(SystemExit) as exit_info:
        call_command("scaffold", "dry-run", str(TEMPLATE), "--values", str(values_file),
                     "--output", str(tmp_path / "out"), "--json")  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert exit_info.value.code == 1
    assert (
        "On-call through Opsgenie was asked for, but this Paved pages through PagerDuty"
        in (result["error"])
    )
    statuses = {s["id"]: s["status"] for s in result["steps"]}
    assert statuses["oncall-opsgenie"] == "failed"
    assert statuses["fetch"] == statuses["publish"] == "skipped"
    assert not (tmp_path / "out/catalog-info.yaml").exists()


def test_unknown_on_call_choice_is_refused(
    platform: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values_file = tmp_path / "values.json"
    values_file.write_text(json.dumps({**VALUES, "onCall": "victorops"}))
    with pytest.raises(SystemExit):
        call_command("scaffold", "dry-run", str(TEMPLATE), "--values", str(values_file),
                     "--output", str(tmp_path / "out"), "--json")  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "failed"
    assert "onCall" in result["error"]


def test_service_host_filter_refuses_what_is_not_a_dns_label(platform: Any) -> None:
    variables = {
        "platform": platform_context(),
        "parameters": {"name": "orders-api", "env": "Prod!"},
    }
    assert (
        evaluate("${{ parameters.name | serviceHost('dev') }}", variables)
        == "orders-api-dev.svc.acme.io"
    )
    with pytest.raises(ExpressionError, match="environment 'Prod!' is not a DNS label"):
        evaluate("${{ parameters.name | serviceHost(parameters.env) }}", variables)
    with pytest.raises(ExpressionError, match=r"serviceHost needs platform\.hostPattern"):
        evaluate("${{ 'x' | serviceHost('dev') }}", {})


def test_host_pattern_setting_rejects_unknown_placeholders() -> None:
    _check_host_pattern("{name}.{environment}.apps.example.com")
    with pytest.raises(ImproperlyConfigured, match=r"unknown: \{namespace\}"):
        _check_host_pattern("{name}.{namespace}.example.com")
    with pytest.raises(ImproperlyConfigured, match=r"must contain \{name\}"):
        _check_host_pattern("{environment}.example.com")


# --- the golden path, in process, with PagerDuty ---------------------------------------------


@pytest.fixture
def pagerduty(settings: Any) -> Iterator[FakePagerDuty]:
    fake = FakePagerDuty().start()
    settings.PAVED_ONCALL_PROVIDER = "pagerduty"
    settings.PAVED_PAGERDUTY_TOKEN = fake.token
    settings.PAVED_PAGERDUTY_API_URL = fake.url
    settings.PAVED_PAGERDUTY_ESCALATION_POLICIES = {}
    settings.PAVED_PROVIDER_TIMEOUT = 2
    fake.add_policy("Orders primary", team=fake.add_team("team-orders"))
    yield fake
    fake.stop()


@TEST_PROVIDERS
def test_golden_path_creates_the_pagerduty_service_and_the_catalog_shows_it(
    owner: User, pagerduty: FakePagerDuty
) -> None:
    load_builtin_templates()
    version = TemplateVersion.objects.get(ref="template:default/python-service")
    run = drive(start_template_run(version=version, values=golden_values(), actor=owner))
    assert run.status == RunStatus.SUCCEEDED, (
        run.error,
        list(run.steps.values_list("key", "error")),
    )
    assert run.context["platform"]["onCallProvider"] == "pagerduty"
    statuses = dict(run.steps.values_list("key", "status"))
    assert statuses["oncall-pagerduty"] == StepStatus.SUCCEEDED
    assert statuses["oncall-opsgenie"] == statuses["oncall-team"] == StepStatus.SKIPPED
    [service] = pagerduty.services
    assert service["name"] == "orders-api"
    # Rendered into the new repository's catalog-info.yaml, which catalog:register read.
    host = DiskGitHost()
    repo = host.get_repository("team-orders", "orders-api")
    assert repo is not None
    info = yaml.safe_load(host.read_file(repo, "catalog-info.yaml") or b"")
    assert info["metadata"]["annotations"]["pagerduty.com/service-id"] == service["id"]
    assert len(host.commits("team-orders", "orders-api")) == 1  # rendered in, no extra commit
    runbook = (host.read_file(repo, "docs/runbook.md") or b"").decode()
    assert "Page them through the PagerDuty service `orders-api`" in runbook
    assert service["html_url"] in runbook
    component = Entity.objects.get(ref="component:default/orders-api")
    assert component.annotations["pagerduty.com/service-id"] == service["id"]
    assert "PagerDuty service" in [link["title"] for link in run.outputs["links"]]
