"""GitHost contract: the same behaviour from every git host (local bare repos, GitHub and
GitLab fakes)."""

from __future__ import annotations

import pytest

from portal.providers.base import GitHost, PermanentProviderError

pytestmark = pytest.mark.usefixtures("git_root")


@pytest.fixture(params=["local", "github", "gitlab"])
def host(request, settings) -> GitHost:
    from portal.providers import git_host

    if request.param in ("github", "gitlab"):
        request.getfixturevalue(f"{request.param}_settings")
    settings.PAVED_GIT_PROVIDER = request.param
    return git_host()


@pytest.fixture
def foreign_repo(request, host, git_root):
    """Create `acme/taken` behind Paved's back, the way a person would."""
    import subprocess

    if host.name == "local":
        path = git_root / "acme" / "taken.git"
        path.parent.mkdir(parents=True)
        subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True, timeout=30)
    elif host.name == "gitlab":
        request.getfixturevalue("fake_gitlab").add_project("acme/taken", {"x": b"x\n"})
    else:
        request.getfixturevalue("fake_github").add_foreign_repo("acme", "taken")
    return ("acme", "taken")


def test_ensure_twice_gives_one_repository(host):
    first, created = host.ensure_repository("acme", "orders-api", description="Orders")
    again, created_again = host.ensure_repository("acme", "orders-api", description="Orders")
    assert (created, created_again) == (True, False)
    assert first.full_name == again.full_name == "acme/orders-api"
    assert host.get_repository("acme", "orders-api") == again
    assert host.get_repository("acme", "nope") is None


def test_push_tree_is_one_commit_and_files_are_there(host):
    repo, _ = host.ensure_repository("acme", "orders-api")
    before = set(host.list_files(repo))
    tree = {
        "README.md": b"# orders-api\n",
        "src/app.py": b"print('hi')\n",
        "deploy/k8s/deployment.yaml": b"kind: Deployment\n",
        "assets/logo.bin": bytes(range(256)),
    }
    commit = host.commit_files(repo, tree, message="scaffold orders-api")
    assert commit.changed
    assert commit.sha
    assert set(host.list_files(repo)) == before | set(tree)
    for path, content in tree.items():
        assert host.read_file(repo, path) == content
    assert host.commit_count(repo) == (1 if not before else 2)  # one commit for the whole tree
    again = host.commit_files(repo, tree, message="scaffold orders-api")
    assert again.changed is False
    assert again.sha == commit.sha
    assert host.read_file(repo, "missing.txt") is None


def test_delete_in_the_same_commit(host):
    repo, _ = host.ensure_repository("acme", "orders-api")
    host.commit_files(repo, {"a.txt": b"a", "b.txt": b"b"}, message="add")
    count = host.commit_count(repo)
    result = host.commit_files(repo, {"c.txt": b"c"}, message="swap", delete=["a.txt", "zz"])
    assert result.changed
    assert "a.txt" not in host.list_files(repo)
    assert {"b.txt", "c.txt"} <= set(host.list_files(repo))
    assert host.commit_count(repo) == count + 1


def test_pull_request_is_opened_once_per_branch(host):
    repo, _ = host.ensure_repository("acme", "orders-api")
    host.commit_files(repo, {"README.md": b"# orders\n"}, message="init")
    assert host.ensure_branch(repo, "paved/add-ci", from_ref="main") is True
    assert host.ensure_branch(repo, "paved/add-ci", from_ref="main") is False
    with pytest.raises(PermanentProviderError, match="no commits between main and paved/add-ci"):
        host.open_pull_request(repo, head="paved/add-ci", base="main", title="Add CI")
    host.commit_files(
        repo, {".github/ci.yaml": b"on: push\n"}, message="Add CI", branch="paved/add-ci"
    )
    pr, created = host.open_pull_request(
        repo, head="paved/add-ci", base="main", title="Add CI", body="Adds a workflow"
    )
    again, created_again = host.open_pull_request(
        repo, head="paved/add-ci", base="main", title="Add CI", body="Adds a workflow"
    )
    assert (created, created_again) == (True, False)
    assert again == pr
    assert (pr.number, pr.head, pr.base, pr.state, pr.title) == (
        1,
        "paved/add-ci",
        "main",
        "open",
        "Add CI",
    )
    assert pr.url.rstrip("/").endswith("/1")
    # The branch started from main (its files are there); main itself is unchanged.
    assert host.read_file(repo, "README.md", ref="paved/add-ci") == b"# orders\n"
    assert host.read_file(repo, ".github/ci.yaml", ref="paved/add-ci") == b"on: push\n"
    assert host.read_file(repo, ".github/ci.yaml") is None


def test_branch_from_a_missing_ref_is_a_permanent_error(host):
    repo, _ = host.ensure_repository("acme", "orders-api")
    host.commit_files(repo, {"README.md": b"# orders\n"}, message="init")
    with pytest.raises(PermanentProviderError, match="nope"):
        host.ensure_branch(repo, "feature", from_ref="nope")


def test_name_taken_by_someone_else_is_a_permanent_error(host, foreign_repo):
    owner, name = foreign_repo
    with pytest.raises(
        PermanentProviderError, match=r"acme/taken already exists.*not created by Paved"
    ):
        host.ensure_repository(owner, name)


def test_webhook_ensured_once(host):
    repo, _ = host.ensure_repository("acme", "orders-api")
    assert host.ensure_webhook(repo, url="https://paved.example/hooks/git", secret="hook-secret")
    assert not host.ensure_webhook(
        repo, url="https://paved.example/hooks/git", secret="hook-secret"
    )


def test_configuration_is_fine(host):
    assert host.check_configuration() == []


def test_archive_keeps_the_repository_read_only_once(host):
    repo, _ = host.ensure_repository("acme", "retired")
    host.commit_files(repo, {"README.md": b"hi\n"}, message="init")
    assert host.archive_repository(repo) is True
    assert host.archive_repository(repo) is False  # already archived
    assert host.get_repository("acme", "retired") is not None  # history stays
    if host.name == "local":
        with pytest.raises(PermanentProviderError, match="archived; it is read-only"):
            host.commit_files(repo, {"README.md": b"changed\n"}, message="late")
