"""Every manifest the GitOps provider commits for the golden path (Namespace, ResourceQuota,
LimitRange, RoleBinding, Argo CD Application) is valid against the published schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User

from portal.providers.base import ApplicationSpec, NamespaceSpec
from portal.providers.manifests import application_manifest, namespace_manifests
from runs.models import RunStatus
from scaffolder.demo import load_builtin_templates
from scaffolder.models import TemplateVersion
from scaffolder.services import start_template_run
from tests.scaffolder.test_golden_path_embedded import EMBEDDED, VALUES
from tests.scaffolder.test_template_runs import drive
from tests.schemas.validate import ControlPlane


def test_namespace_and_application_manifests_are_valid() -> None:
    spec = NamespaceSpec(name="orders-api", owner_group="team-orders", service="orders-api",
                         environment="staging", quota={"requests.cpu": "4"})  # fmt: skip
    app = ApplicationSpec(name="orders-api-staging", repo_url="https://github.com/acme/orders-api.git",
                          path="deploy/k8s", destination_namespace="orders-api", environment="staging",
                          labels={"paved.dev/service": "orders-api"})  # fmt: skip
    objects = [*namespace_manifests(spec), application_manifest(app, argocd_namespace="argocd")]
    assert ControlPlane().check_all(objects) == 5


@pytest.mark.django_db
@EMBEDDED
def test_everything_the_golden_path_commits_to_the_gitops_repository_is_valid(
    owner: User, settings: Any, tmp_path: Path
) -> None:
    from portal.providers import git_host

    settings.PAVED_GIT_LOCAL_ROOT = tmp_path / "git"
    load_builtin_templates()
    version = TemplateVersion.objects.get(ref="template:default/python-service")
    run = drive(start_template_run(version=version, values=VALUES, actor=owner))
    assert run.status == RunStatus.SUCCEEDED, run.error
    host = git_host()
    owner_name, _, name = str(settings.PAVED_GITOPS_REPO).partition("/")
    repo = host.get_repository(owner_name, name)
    assert repo is not None
    objects = [
        doc
        for path in host.list_files(repo)
        if path.endswith((".yaml", ".yml"))
        for doc in yaml.safe_load_all(host.read_file(repo, path) or b"")
        if doc
    ]
    kinds = {o["kind"] for o in objects}
    assert {"Namespace", "ResourceQuota", "LimitRange", "RoleBinding", "Application"} <= kinds
    assert ControlPlane().check_all(objects) == len(objects)
