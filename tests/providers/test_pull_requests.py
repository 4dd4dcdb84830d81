"""publish:github:pull-request opens a real pull request: on GitHub (loopback fake) and on the
local git host, where it is a record the repository pages show, with its diff and a merge."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from catalog.models import Entity
from portal.models import AuditEvent
from portal.providers import git_host
from portal.providers.base import PermanentProviderError, RepoRef
from portal.providers.local_git.provider import LocalGitHost, repo_dir
from runs.models import Run, RunStatus, Step
from runs.runner import retry_run
from scaffolder.services import save_template, start_template_run
from tests.scaffolder.test_template_runs import drive

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("git_root")]

PR_STEPS = """
    - id: fetch
      action: fetch:template
      input: {url: ./skeleton, values: {title: Hi}}
    - id: pr
      action: publish:github:pull-request
      input:
        repoUrl: REPO_URL
        branchName: add-docs
        title: Add docs
        description: Adds **the docs** page.
        targetPath: docs
"""


def _run_pr(tmp_path: Path, actor: User, repo_url: str) -> Run:
    skeleton = tmp_path / "tpl" / "skeleton"
    skeleton.mkdir(parents=True, exist_ok=True)
    (skeleton / "docs.md").write_text("# ${{ values.title }}\n")
    version = save_template(
        yaml_text="apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\n"
        "metadata: {name: pr}\nspec:\n  type: service\n  steps:"
        + PR_STEPS.replace("REPO_URL", repo_url),
        actor=None,
        base_dir=str(tmp_path / "tpl"),
    )
    return drive(start_template_run(version=version, values={}, actor=actor))


@pytest.fixture(params=["local", "github"])
def host_name(request: Any, settings: Any) -> str:
    if request.param == "github":
        request.getfixturevalue("github_settings")
    settings.PAVED_GIT_PROVIDER = request.param
    return str(request.param)


def test_step_opens_one_pull_request_with_backstage_outputs(
    host_name: str, owner: User, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    host: Any = git_host()  # commit_count is not part of the protocol
    org = "team-orders" if host_name == "local" else "acme"
    if host_name == "github":
        # In a shared organisation the catalog says which repository is the team's.
        Entity.objects.create(kind="Component", name="existing",
                              owner_ref="group:default/team-orders",
                              metadata={"annotations": {"github.com/project-slug": "acme/existing"}})  # fmt: skip
    repo, _ = host.ensure_repository(org, "existing")
    host.commit_files(repo, {"README.md": b"hello\n"}, message="init")

    run = _run_pr(tmp_path, owner, f"{'localhost' if host_name == 'local' else 'github.com'}"
                  f"?owner={org}&repo=existing")  # fmt: skip
    assert run.status == RunStatus.SUCCEEDED, list(run.steps.values_list("key", "error"))
    out = Step.objects.get(run=run, key="pr").outputs
    assert out["pullRequestNumber"] == 1
    assert out["targetBranchName"] == "main"
    assert out["remoteUrl"] == out["pullRequestUrl"]
    if host_name == "local":
        assert out["remoteUrl"] == "http://paved.test/git/team-orders/existing/pulls/1/"
    else:
        assert out["remoteUrl"] == "https://github.example/acme/existing/pull/1"
    assert host.read_file(repo, "docs/docs.md", ref="add-docs") == b"# Hi\n"
    assert host.read_file(repo, "README.md", ref="add-docs") == b"hello\n"
    assert host.read_file(repo, "docs/docs.md") is None  # main untouched until merged
    commits_on_branch = host.commit_count(repo, ref="add-docs")

    # Running the whole thing again reuses the branch and the open pull request.
    Run.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
    retry_run(run, actor=owner, from_step="fetch")
    run = drive(run)
    assert run.status == RunStatus.SUCCEEDED
    assert Step.objects.get(run=run, key="pr").outputs["pullRequestNumber"] == 1
    assert host.commit_count(repo, ref="add-docs") == commits_on_branch
    if host_name == "github":
        calls = [(r.method, r.path) for r in request.getfixturevalue("fake_github").requests]
        assert calls.count(("POST", "/repos/acme/existing/pulls")) == 1
        assert calls.count(("GET", "/repos/acme/existing/pulls")) == 2  # looked up each time
        assert not [c for c in calls if c[1].startswith("/repos/acme/existing/pulls/")]


def test_missing_repository_fails_the_step_clearly(
    owner: User, tmp_path: Path, settings: Any
) -> None:
    settings.PAVED_GIT_PROVIDER = "local"
    run = _run_pr(tmp_path, owner, "localhost?owner=team-orders&repo=nope")
    assert run.status == RunStatus.FAILED
    assert "repository team-orders/nope does not exist" in Step.objects.get(run=run, key="pr").error


def _local_pr(owner: User, tmp_path: Path, settings: Any) -> tuple[LocalGitHost, RepoRef]:
    settings.PAVED_GIT_PROVIDER = "local"
    host = LocalGitHost()
    # Not private: other teams may read it (and so see its pull requests), never merge.
    repo, _ = host.ensure_repository("team-orders", "existing", private=False)
    host.commit_files(repo, {"README.md": b"hello\n"}, message="init")
    run = _run_pr(tmp_path, owner, "localhost?owner=team-orders&repo=existing")
    assert run.status == RunStatus.SUCCEEDED, list(run.steps.values_list("key", "error"))
    return host, repo


def test_local_pull_request_page_shows_the_change_and_owners_merge_it(
    owner: User, outsider: User, client: Any, tmp_path: Path, settings: Any
) -> None:
    host, repo = _local_pr(owner, tmp_path, settings)
    url = "/git/team-orders/existing/pulls/1/"

    client.force_login(outsider)
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Add docs" in text
    assert "<strong>the docs</strong>" in text  # the description, as Markdown
    assert "add-docs</code> → <code>main" in text
    assert "docs/docs.md" in text
    assert "+# Hi" in text  # the patch, computed by git
    assert "Merge into main" not in text  # not their team's repository
    assert client.post(url + "merge").status_code == 403
    assert "1 open" in client.get("/git/team-orders/existing/").content.decode()
    assert "Add docs" in client.get("/git/team-orders/existing/pulls/").content.decode()

    client.force_login(owner)
    assert "Merge into main" in client.get(url).content.decode()
    response = client.post(url + "merge")
    assert response.status_code == 302
    assert host.read_file(repo, "docs/docs.md") == b"# Hi\n"
    record = host.get_pull_request(repo, 1)
    assert record is not None
    assert (record.state, record.merged_by) == ("merged", "olivia")
    event = AuditEvent.objects.get(action="pull_request.merged")
    assert (event.actor, event.target_id) == (owner, "team-orders/existing#1")
    assert event.after["merge_commit"] == record.merge_commit
    git_dir = repo_dir("team-orders", "existing")
    main = subprocess.run(["git", "--git-dir", str(git_dir), "rev-parse", "main"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    assert main == record.merge_commit == record.head_sha  # fast-forward
    merged = client.get(url).content.decode()
    assert "docs/docs.md" in merged  # a merged pull request still shows what it changed
    assert "Merge into main" not in merged
    assert client.post(url + "merge").status_code == 302  # refused with a message, not a 500
    assert "1 open" not in client.get("/git/team-orders/existing/").content.decode()
    assert client.get("/git/team-orders/existing/pulls/9/").status_code == 404


def test_merge_after_the_base_moved_makes_a_merge_commit(
    owner: User, tmp_path: Path, settings: Any
) -> None:
    host, repo = _local_pr(owner, tmp_path, settings)
    host.commit_files(repo, {"CHANGELOG.md": b"v1\n"}, message="elsewhere")
    record = host.merge_pull_request(repo, 1, merged_by="olivia")
    git_dir = repo_dir("team-orders", "existing")
    parents = subprocess.run(
        ["git", "--git-dir", str(git_dir), "rev-list", "--parents", "-n", "1", "main"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert parents[0] == record.merge_commit
    assert len(parents) == 3  # a merge commit: base and head
    assert set(host.list_files(repo)) == {"README.md", "CHANGELOG.md", "docs/docs.md"}
    with pytest.raises(PermanentProviderError, match="already merged"):
        host.merge_pull_request(repo, 1, merged_by="olivia")


def test_conflicting_pull_request_is_refused(owner: User, tmp_path: Path, settings: Any) -> None:
    host, repo = _local_pr(owner, tmp_path, settings)
    host.commit_files(repo, {"docs/docs.md": b"# Someone else\n"}, message="conflict")
    before = host.read_file(repo, "docs/docs.md")
    with pytest.raises(PermanentProviderError, match=r"conflicts with main in docs/docs.md"):
        host.merge_pull_request(repo, 1, merged_by="olivia")
    assert host.read_file(repo, "docs/docs.md") == before
    record = host.get_pull_request(repo, 1)
    assert record is not None
    assert record.state == "open"


def test_a_platform_admin_may_merge_any_local_pull_request(
    owner: User, platform_admin: User, client: Any, tmp_path: Path, settings: Any
) -> None:
    host, repo = _local_pr(owner, tmp_path, settings)
    client.force_login(platform_admin)
    url = "/git/team-orders/existing/pulls/1/"
    assert "Merge into main" in client.get(url).content.decode()
    assert client.post(url + "merge").status_code == 302
    record = host.get_pull_request(repo, 1)
    assert record is not None
    assert (record.state, record.merged_by) == ("merged", platform_admin.get_username())


def test_owners_close_a_local_pull_request_without_merging(
    owner: User, outsider: User, client: Any, tmp_path: Path, settings: Any
) -> None:
    host, repo = _local_pr(owner, tmp_path, settings)
    url = "/git/team-orders/existing/pulls/1/"
    client.force_login(outsider)
    assert "Close without merging" not in client.get(url).content.decode()
    assert client.post(url + "close").status_code == 403
    assert host.find_pull_request(repo, 1).state == "open"

    client.force_login(owner)
    assert "Close without merging" in client.get(url).content.decode()
    assert client.post(url + "close").status_code == 302
    record = host.get_pull_request(repo, 1)
    assert record is not None
    assert (record.state, record.closed_by) == ("closed", "olivia")
    assert host.read_file(repo, "docs/docs.md") is None  # nothing reached main
    assert host.find_pull_request(repo, 1).state == "closed"
    page = client.get(url).content.decode()
    assert "not merged" in page
    assert "docs/docs.md" in page  # a closed pull request still shows what it proposed
    assert "Close without merging" not in page
    assert "Merge into main" not in page
    event = AuditEvent.objects.get(action="pull_request.closed")
    assert (event.actor, event.target_id) == (owner, "team-orders/existing#1")
    response = client.post(url + "close", follow=True)  # a message, not a 500
    assert "already closed" in response.content.decode()
    with pytest.raises(PermanentProviderError, match="already closed"):
        host.merge_pull_request(repo, 1, merged_by="olivia")
    # The branch stays: the same head can be proposed again, as a new pull request.
    again, created = host.open_pull_request(repo, head="add-docs", base="main", title="Again")
    assert (again.number, created) == (2, True)


def test_update_pull_request_replaces_title_and_body_on_both_hosts(
    host_name: str, owner: User, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    host: Any = git_host()
    owner_name = "team-orders" if host_name == "local" else "acme"
    repo, _ = host.ensure_repository(owner_name, "notes")
    host.commit_files(repo, {"a.txt": b"a\n"}, message="first")
    host.ensure_branch(repo, "change", from_ref="main")
    host.commit_files(repo, {"a.txt": b"b\n"}, message="change", branch="change")
    pull, _ = host.open_pull_request(repo, head="change", base="main", title="One", body="first")
    updated = host.update_pull_request(repo, pull.number, title="Two", body="second **body**")
    assert (updated.number, updated.title, updated.state) == (pull.number, "Two", "open")
    found = host.find_pull_request(repo, pull.number)
    assert (found.title, found.state) == ("Two", "open")
    if host_name == "github":
        fake = request.getfixturevalue("fake_github")
        assert fake.repos["acme/notes"]["pulls"][0]["body"] == "second **body**"
    else:
        assert host.get_pull_request(repo, pull.number).body == "second **body**"
    assert host.find_pull_request(repo, 99) is None
    with pytest.raises(PermanentProviderError, match="#99 does not exist"):
        host.update_pull_request(repo, 99, title="x", body="")
