"""Attack: a developer of another team opens a merge request on a team's GitLab project through
publish:gitlab:merge-request (to slip a change into its default branch on review fatigue, or
to plant a branch). Refused with the requester's authority before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User

from catalog.models import Entity
from runs.models import RunStatus, Step
from scaffolder.services import save_template, start_template_run
from tests.fakes.gitlab import FakeGitLab
from tests.scaffolder.test_template_runs import drive

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("embedded", "gitlab_settings")]

TEMPLATE = """apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: sneaky-mr}
spec:
  type: service
  steps:
    - id: fetch
      action: fetch:template
      input: {url: ./skeleton}
    - id: mr
      action: publish:gitlab:merge-request
      input:
        repoUrl: gitlab.example?owner=OWNER&repo=orders-api
        branchName: harmless-docs
        title: Fix a typo
        description: Nothing to see.
        commitAction: auto
"""


def _attempt(tmp_path: Path, actor: User, owner: str) -> Step:
    skeleton = tmp_path / "tpl" / "skeleton"
    skeleton.mkdir(parents=True, exist_ok=True)
    (skeleton / ".gitlab-ci.yml").write_text("steal: {script: [env]}\n")
    version = save_template(yaml_text=TEMPLATE.replace("OWNER", owner), actor=None,
                            base_dir=str(tmp_path / "tpl"))  # fmt: skip
    run = drive(start_template_run(version=version, values={}, actor=actor))
    assert run.status == RunStatus.FAILED
    return Step.objects.get(run=run, key="mr")


@pytest.mark.parametrize("group", ["team-orders", "acme"])
def test_a_developer_cannot_open_a_merge_request_on_another_teams_gitlab_project(
    fake_gitlab: FakeGitLab, tmp_path: Path, owner: User, outsider: User, group: str
) -> None:
    # The project is team-orders': under its own group, or in the shared `acme` group and named
    # by a component team-orders owns.
    fake_gitlab.add_project(f"{group}/orders-api", {"README.md": b"orders\n"})
    Entity.objects.create(kind="Component", name="orders-api",
                          owner_ref="group:default/team-orders",
                          metadata={"annotations": {
                              "gitlab.example/project-slug": f"{group}/orders-api"}})  # fmt: skip
    step = _attempt(tmp_path, outsider, group)
    assert "may open pull requests only on repositories their team owns" in step.error
    assert f"{group}/orders-api is not one of them" in step.error
    # Nothing written: no branch, no commit, no merge request; not even a write was attempted.
    project = fake_gitlab.project(f"{group}/orders-api")
    assert project is not None
    assert set(project["branches"]) == {"main"}
    assert project["merge_requests"] == []
    assert fake_gitlab.files(f"{group}/orders-api") == {"README.md": b"orders\n"}
    assert not [r for r in fake_gitlab.requests if r.method != "GET"]


def test_the_owning_team_may_open_the_same_merge_request(
    fake_gitlab: FakeGitLab, tmp_path: Path, owner: User
) -> None:
    """The control: the refusal above is about who asks, not a broken setup."""
    fake_gitlab.add_project("acme/orders-api", {"README.md": b"orders\n"})
    Entity.objects.create(kind="Component", name="orders-api",
                          owner_ref="group:default/team-orders",
                          metadata={"annotations": {
                              "gitlab.example/project-slug": "acme/orders-api"}})  # fmt: skip
    skeleton = tmp_path / "tpl" / "skeleton"
    skeleton.mkdir(parents=True, exist_ok=True)
    (skeleton / "NOTES.md").write_text("ok\n")
    version = save_template(yaml_text=TEMPLATE.replace("OWNER", "acme"), actor=None,
                            base_dir=str(tmp_path / "tpl"))  # fmt: skip
    run = drive(start_template_run(version=version, values={}, actor=owner))
    assert run.status == RunStatus.SUCCEEDED, list(run.steps.values_list("key", "error"))
    project = fake_gitlab.project("acme/orders-api")
    assert project is not None
    assert len(project["merge_requests"]) == 1
