"""Provider-backed actions, each on its own: namespace, Argo CD, pull request, catalog:write,
infra:request, and what expressions see of the user."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.test import override_settings

from runs.models import RunStatus, StepStatus
from scaffolder.services import save_template, start_template_run
from tests.scaffolder.providers import DiskGitHost
from tests.scaffolder.test_template_runs import drive

pytestmark = pytest.mark.django_db
TEST_PROVIDERS = override_settings(
    PAVED_GIT_PROVIDER="test", PAVED_DEPLOY_PROVIDER="test", PAVED_CLUSTER_PROVIDER="test"
)


@pytest.fixture(autouse=True)
def provider_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PAVED_TEST_PROVIDER_DIR", str(tmp_path / "providers"))
    return tmp_path / "providers"


def _run(steps: str, owner: User, values: dict[str, Any] | None = None, base_dir: str = "") -> Any:
    version = save_template(
        yaml_text="apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\n"
        "spec:\n  type: service\n  steps:\n" + steps,
        actor=None,
        base_dir=base_dir,
    )
    return drive(start_template_run(version=version, values=values or {}, actor=owner))


@TEST_PROVIDERS
def test_namespace_and_argocd_application(owner: User, provider_dir: Path) -> None:
    run = _run(
        "    - id: ns\n      action: kubernetes:namespace\n      input: {name: shop, owner: 'group:default/team-orders'}\n"
        "    - id: app\n      action: argocd:create-resources\n      input:\n        appName: shop-dev\n"
        "        namespace: ${{ steps.ns.output.namespace }}\n        repoUrl: https://git.test/o/shop.git\n        path: deploy\n",
        owner,
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    namespace = json.loads((provider_dir / "namespaces/dev-shop.json").read_text())
    assert namespace["owner"] == "team-orders"
    assert namespace["quota"]["requests.cpu"] == "2"
    app = json.loads((provider_dir / "apps/dev-shop-dev.json").read_text())
    assert app == {
        "name": "shop-dev",
        "repo": "https://git.test/o/shop.git",
        "path": "deploy",
        "ns": "shop",
    }


@TEST_PROVIDERS
def test_catalog_write_adds_the_source_template(owner: User) -> None:
    run = _run(
        "    - id: w\n      action: catalog:write\n      input:\n        entity:\n          apiVersion: backstage.io/v1alpha1\n"
        "          kind: Component\n          metadata: {name: x}\n          spec: {type: service, owner: team-orders}\n"
        "    - id: p\n      action: publish:git\n      input: {repoUrl: 'git.test?owner=team-orders&repo=x'}\n",
        owner,
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    host = DiskGitHost()
    repo = host.get_repository("team-orders", "x")
    assert repo is not None
    written = yaml.safe_load(host.read_file(repo, "catalog-info.yaml") or b"")
    assert (
        written["metadata"]["annotations"]["backstage.io/source-template"] == "template:default/t"
    )


def test_expressions_see_the_user_entity_and_skip_on_if(owner: User) -> None:
    run = _run(
        "    - id: hello\n      action: debug:log\n      input:\n        message: by ${{ user.entity.metadata.name }} (${{ user.ref }})\n"
        "    - id: skipped\n      if: ${{ parameters.go }}\n      action: debug:log\n      input: {message: never}\n",
        owner,
        values={},
    )
    assert run.status == RunStatus.SUCCEEDED
    steps = {s.key: s for s in run.steps.all()}
    assert steps["hello"].resolved_inputs["message"] == "by olivia (user:default/olivia)"
    assert steps["skipped"].status == StepStatus.SKIPPED


@pytest.mark.parametrize(
    ("access", "team"),
    [
        ("acme/team-orders", "team-orders"),
        ("group:default/team-orders", "team-orders"),
        ("team-orders", "team-orders"),
        ("", None),
        (None, None),
    ],
)
def test_publish_access_names_the_team(access: str | None, team: str | None) -> None:
    from scaffolder.steps.publish import access_team

    assert access_team(access) == team
