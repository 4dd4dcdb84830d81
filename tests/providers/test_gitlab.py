"""publish:gitlab and publish:gitlab:merge-request through real runs against the loopback GitLab
(python-gitlab over HTTP to tests/fakes/gitlab.py), whatever the default git host is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from runs.models import ProvisionedResource, Run, RunStatus, Step
from runs.runner import RunStartError, retry_run
from scaffolder.services import save_template, start_template_run
from tests.fakes.gitlab import FakeGitLab
from tests.scaffolder.test_template_runs import drive

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("git_root", "gitlab_settings")]

PUBLISH = """
    - id: fetch
      action: fetch:template
      input: {url: ./skeleton, values: {title: Hi}}
    - id: publish
      action: publish:gitlab
      input:
        repoUrl: REPO_URL
        defaultBranch: trunk
        topics: [python, orders]
        gitCommitMessage: First
"""

MERGE_REQUEST = """
    - id: fetch
      action: fetch:template
      input: {url: ./skeleton, values: {title: Hi}}
    - id: mr
      action: publish:gitlab:merge-request
      input:
        repoUrl: REPO_URL
        branchName: add-docs
        title: Add docs
        description: Adds the docs page.
        targetPath: docs
        COMMIT_ACTION
"""


def run_template(tmp_path: Path, actor: User, steps: str) -> Run:
    skeleton = tmp_path / "tpl" / "skeleton"
    skeleton.mkdir(parents=True, exist_ok=True)
    (skeleton / "index.md").write_text("# ${{ values.title }}\n")
    version = save_template(
        yaml_text="apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\n"
        "metadata: {name: gl}\nspec:\n  type: service\n  steps:" + steps,
        actor=None,
        base_dir=str(tmp_path / "tpl"),
    )
    return drive(start_template_run(version=version, values={}, actor=actor))


def errors(run: Run) -> list[tuple[str, str]]:
    return list(run.steps.values_list("key", "error"))


def test_publish_gitlab_creates_a_private_project_with_the_workspace(
    fake_gitlab: FakeGitLab, owner: User, tmp_path: Path
) -> None:
    steps = PUBLISH.replace("REPO_URL", "gitlab.example?owner=team-orders&repo=orders-web")
    run = run_template(tmp_path, owner, steps)
    assert run.status == RunStatus.SUCCEEDED, errors(run)
    project = fake_gitlab.project("team-orders/orders-web")
    assert project is not None
    assert project["visibility"] == "private"
    assert project["topics"] == ["paved-managed", "python", "orders"]
    assert fake_gitlab.files("team-orders/orders-web", "trunk") == {"index.md": b"# Hi\n"}
    out = Step.objects.get(run=run, key="publish").outputs
    assert out["remoteUrl"] == "https://gitlab.example/team-orders/orders-web"
    assert out["repoContentsUrl"] == "https://gitlab.example/team-orders/orders-web/-/blob/trunk"
    assert out["projectId"] == project["id"]
    # Recorded for the team before it was created: undo and later authorization know it.
    record = ProvisionedResource.objects.get(kind="repository")
    assert record.key == "gitlab:team-orders/orders-web"
    assert record.owner_ref == "group:default/team-orders"

    # Repeating the whole run changes nothing: same project, no second commit.
    Run.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
    retry_run(run, actor=owner, from_step="fetch")
    run = drive(run)
    assert run.status == RunStatus.SUCCEEDED, errors(run)
    assert fake_gitlab.commit_count("team-orders/orders-web", "trunk") == 1
    creates = [
        r for r in fake_gitlab.requests if (r.method, r.path) == ("POST", "/api/v4/projects")
    ]
    assert len(creates) == 1


def test_publish_gitlab_never_touches_a_project_paved_did_not_create(
    fake_gitlab: FakeGitLab, owner: User, tmp_path: Path
) -> None:
    fake_gitlab.add_project("team-orders/legacy", {"app.py": b"print(1)\n"})
    steps = PUBLISH.replace("REPO_URL", "gitlab.example?owner=team-orders&repo=legacy")
    # Refused before the run starts (the name is taken on GitLab)...
    with pytest.raises(RunStartError, match="The repository team-orders/legacy already exists"):
        run_template(tmp_path, owner, steps)
    # ...and by the provider itself, should the project appear after that check.
    from portal.providers.base import NameTaken
    from portal.providers.gitlab import GitLabHost

    with pytest.raises(NameTaken, match="legacy already exists and was not created by Paved"):
        GitLabHost().ensure_repository("team-orders", "legacy")
    assert fake_gitlab.files("team-orders/legacy") == {"app.py": b"print(1)\n"}


def test_repo_url_must_name_the_configured_gitlab(
    fake_gitlab: FakeGitLab, owner: User, tmp_path: Path
) -> None:
    steps = PUBLISH.replace("REPO_URL", "gitlab.evil.example?owner=team-orders&repo=x")
    run = run_template(tmp_path, owner, steps)
    assert run.status == RunStatus.FAILED
    error = Step.objects.get(run=run, key="publish").error
    assert "repoUrl names the GitLab host 'gitlab.evil.example'" in error
    assert "gitlab.example?owner=<group>&repo=<name>" in error
    assert fake_gitlab.project("team-orders/x") is None


def test_without_a_gitlab_integration_the_step_says_what_to_set(
    owner: User, tmp_path: Path, settings: Any
) -> None:
    settings.PAVED_GITLAB_TOKEN = ""
    steps = PUBLISH.replace("REPO_URL", "gitlab.example?owner=team-orders&repo=x")
    run = run_template(tmp_path, owner, steps)
    assert run.status == RunStatus.FAILED
    error = Step.objects.get(run=run, key="publish").error
    assert "no GitLab integration is configured" in error
    assert "PAVED_GITLAB_TOKEN" in error


def _existing(fake: FakeGitLab) -> None:
    fake.add_project("team-orders/orders-api", {"README.md": b"hello\n", "docs/index.md": b"old\n"})


def test_merge_request_from_a_new_branch_with_backstage_outputs(
    fake_gitlab: FakeGitLab, owner: User, tmp_path: Path
) -> None:
    _existing(fake_gitlab)
    steps = MERGE_REQUEST.replace("REPO_URL", "gitlab.example?owner=team-orders&repo=orders-api")
    run = run_template(tmp_path, owner, steps.replace("COMMIT_ACTION", "commitAction: update"))
    assert run.status == RunStatus.SUCCEEDED, errors(run)
    out = Step.objects.get(run=run, key="mr").outputs
    assert (
        out["mergeRequestUrl"] == "https://gitlab.example/team-orders/orders-api/-/merge_requests/1"
    )
    assert out["projectid"] == "team-orders/orders-api"
    assert out["targetBranchName"] == "main"
    branch = fake_gitlab.files("team-orders/orders-api", "add-docs")
    assert branch == {"README.md": b"hello\n", "docs/index.md": b"# Hi\n"}
    assert fake_gitlab.files("team-orders/orders-api")["docs/index.md"] == b"old\n"  # main as was
    project = fake_gitlab.project("team-orders/orders-api")
    assert project is not None
    assert [
        (m["source_branch"], m["target_branch"], m["title"]) for m in project["merge_requests"]
    ] == [("add-docs", "main", "Add docs")]

    # Again: the same branch (its own record) and the open merge request are reused.
    Run.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
    retry_run(run, actor=owner, from_step="fetch")
    run = drive(run)
    assert run.status == RunStatus.SUCCEEDED, errors(run)
    assert len(project["merge_requests"]) == 1
    assert fake_gitlab.commit_count("team-orders/orders-api", "add-docs") == 2


def test_commit_action_create_refuses_existing_files_before_writing(
    fake_gitlab: FakeGitLab, owner: User, tmp_path: Path
) -> None:
    _existing(fake_gitlab)
    steps = MERGE_REQUEST.replace("REPO_URL", "gitlab.example?owner=team-orders&repo=orders-api")
    run = run_template(tmp_path, owner, steps.replace("COMMIT_ACTION", "commitAction: create"))
    assert run.status == RunStatus.FAILED
    error = Step.objects.get(run=run, key="mr").error
    assert "commitAction create: docs/index.md already exist(s) on main" in error
    project = fake_gitlab.project("team-orders/orders-api")
    assert project is not None
    assert set(project["branches"]) == {"main"}  # no branch, no merge request
    assert project["merge_requests"] == []


def test_commit_action_delete_removes_the_named_files_on_the_branch(
    fake_gitlab: FakeGitLab, owner: User, tmp_path: Path
) -> None:
    _existing(fake_gitlab)
    steps = MERGE_REQUEST.replace("REPO_URL", "gitlab.example?owner=team-orders&repo=orders-api")
    run = run_template(tmp_path, owner, steps.replace("COMMIT_ACTION", "commitAction: delete"))
    assert run.status == RunStatus.SUCCEEDED, errors(run)
    assert fake_gitlab.files("team-orders/orders-api", "add-docs") == {"README.md": b"hello\n"}


def test_dry_run_outputs_have_backstage_shapes() -> None:
    from runs.registry import step_kinds

    kinds = step_kinds()
    publish = kinds["publish:gitlab"].dry_run_outputs(
        {"repoUrl": "gitlab.example?owner=g&repo=r", "defaultBranch": "dev"}
    )
    assert publish["repoContentsUrl"] == "https://gitlab.example/g/r/-/blob/dev"
    assert publish["projectId"] == 0
    mr = kinds["publish:gitlab:merge-request"].dry_run_outputs(
        {
            "repoUrl": "gitlab.example?owner=g&repo=r",
            "branchName": "b",
            "title": "t",
            "description": "d",
        }
    )
    assert mr["mergeRequestUrl"] == "https://gitlab.example/g/r/-/merge_requests/0"
    assert mr["projectid"] == "g/r"


def test_undo_removes_the_gitlab_project_and_not_a_same_named_local_repository(
    fake_gitlab: FakeGitLab, owner: User, tmp_path: Path, settings: Any
) -> None:
    from portal.providers import git_host
    from runs.undo import start_undo

    settings.PAVED_GIT_PROVIDER = "local"
    local, _ = git_host().ensure_repository("team-orders", "orders-web")  # same path, local host
    failing = (
        PUBLISH
        + """
    - id: boom
      action: fetch:plain
      input: {url: ./missing}
"""
    )
    steps = failing.replace("REPO_URL", "gitlab.example?owner=team-orders&repo=orders-web")
    run = run_template(tmp_path, owner, steps)
    assert run.status == RunStatus.FAILED
    assert fake_gitlab.project("team-orders/orders-web") is not None
    undo = drive(start_undo(run, actor=owner))
    assert undo.status == RunStatus.SUCCEEDED, errors(undo)
    assert fake_gitlab.project("team-orders/orders-web") is None
    assert git_host().get_repository("team-orders", "orders-web") == local
    assert not ProvisionedResource.objects.filter(kind="repository").exists()


def test_internal_visibility_and_a_bad_one(
    fake_gitlab: FakeGitLab, owner: User, tmp_path: Path
) -> None:
    steps = PUBLISH.replace("REPO_URL", "gitlab.example?owner=team-orders&repo=inner")
    run = run_template(tmp_path, owner, steps + "        repoVisibility: internal\n")
    assert run.status == RunStatus.SUCCEEDED, errors(run)
    project = fake_gitlab.project("team-orders/inner")
    assert project is not None
    assert project["visibility"] == "internal"
    steps = PUBLISH.replace("REPO_URL", "gitlab.example?owner=team-orders&repo=outer")
    run = run_template(tmp_path / "b", owner, steps + "        settings: {visibility: secret}\n")
    assert run.status == RunStatus.FAILED
    assert "repoVisibility 'secret' is not one of private, internal, public" in (
        Step.objects.get(run=run, key="publish").error
    )
    assert fake_gitlab.project("team-orders/outer") is None


def test_merge_request_title_and_description_are_replaced_and_its_state_read(
    settings: Any, fake_gitlab: FakeGitLab
) -> None:
    from portal.providers import git_host
    from portal.providers.base import PermanentProviderError

    settings.PAVED_GIT_PROVIDER = "gitlab"
    fake_gitlab.add_group("acme")
    host: Any = git_host()
    repo, _ = host.ensure_repository("acme", "notes")
    host.commit_files(repo, {"a.txt": b"a\n"}, message="first")
    host.ensure_branch(repo, "change", from_ref="main")
    host.commit_files(repo, {"a.txt": b"b\n"}, message="change", branch="change")
    mr, _ = host.open_pull_request(repo, head="change", base="main", title="One", body="first")
    updated = host.update_pull_request(repo, mr.number, title="Two", body="second **body**")
    assert (updated.number, updated.title, updated.state) == (mr.number, "Two", "open")
    project = fake_gitlab.project("acme/notes")
    assert project is not None
    stored = project["merge_requests"][0]
    assert (stored["title"], stored["description"]) == ("Two", "second **body**")
    stored["state"] = "closed"  # the team closed it on GitLab without merging
    assert host.find_pull_request(repo, mr.number).state == "closed"
    assert host.find_pull_request(repo, 99) is None
    with pytest.raises(PermanentProviderError, match="!99 does not exist"):
        host.update_pull_request(repo, 99, title="x", body="")
