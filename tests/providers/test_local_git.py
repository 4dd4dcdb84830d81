"""The `local` git host against real bare repositories (and real `git clone` over HTTP)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from portal.providers import git_host
from portal.providers.base import PermanentProviderError
from portal.providers.local_git.provider import LocalGitHost


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, check=True, text=True, timeout=30
    ).stdout.strip()


def test_default_git_host_is_local(git_root):
    assert isinstance(git_host(), LocalGitHost)


def test_repository_is_a_bare_repo_under_the_data_dir(git_root):
    repo, created = LocalGitHost().ensure_repository(
        "team-orders", "orders-api", description="Orders"
    )
    assert created
    bare = git_root / "team-orders" / "orders-api.git"
    assert git("rev-parse", "--is-bare-repository", cwd=bare) == "true"
    assert repo.clone_url == "http://paved.test/git/team-orders/orders-api.git"
    assert repo.web_url == "http://paved.test/git/team-orders/orders-api/"


def test_commit_keeps_other_files_and_skips_unchanged_trees(git_root):
    host = LocalGitHost()
    repo, _ = host.ensure_repository("o", "r")
    first = host.commit_files(repo, {"a.txt": b"a\n", "dir/b.txt": b"b\n"}, message="one")
    bare = git_root / "o" / "r.git"
    second = host.commit_files(repo, {"c.txt": b"c\n"}, message="two")
    assert second.changed
    assert host.list_files(repo) == ["a.txt", "c.txt", "dir/b.txt"]
    same = host.commit_files(repo, {"c.txt": b"c\n"}, message="again")
    assert same == type(same)(sha=second.sha, changed=False)
    assert git("rev-list", "--count", "main", cwd=bare) == "2"
    assert git("rev-parse", "main~1", cwd=bare) == first.sha
    git("fsck", "--strict", cwd=bare)


def test_delete_and_delete_missing(git_root):
    host = LocalGitHost()
    repo, _ = host.ensure_repository("o", "r")
    host.commit_files(repo, {"a": b"1", "b": b"2", "c": b"3"}, message="init")
    host.commit_files(repo, {}, message="drop b", delete=["b"])
    assert host.list_files(repo) == ["a", "c"]
    host.commit_files(repo, {"z": b"9"}, message="only z", delete_missing=True)
    assert host.list_files(repo) == ["z"]
    assert host.read_file(repo, "z") == b"9"
    assert host.read_file(repo, "a") is None
    assert host.read_file(repo, "a", ref="main~1") == b"1"


def test_bad_names_and_paths_are_permanent_errors(git_root):
    host = LocalGitHost()
    with pytest.raises(PermanentProviderError, match="not a valid repository name"):
        host.ensure_repository("o", "../escape")
    repo, _ = host.ensure_repository("o", "r")
    with pytest.raises(PermanentProviderError, match="not a clean relative path"):
        host.commit_files(repo, {"../x": b""}, message="m")
    assert host.list_files(repo) == []


def test_webhook_is_recorded_once(git_root):
    host = LocalGitHost()
    repo, _ = host.ensure_repository("o", "r")
    assert host.ensure_webhook(repo, url="http://paved.test/hooks/git", secret="s3cret")
    assert not host.ensure_webhook(repo, url="http://paved.test/hooks/git", secret="s3cret")
    assert "s3cret" not in (git_root / "o" / "r.git" / "config").read_text()


@pytest.mark.django_db
def test_repository_page_shows_tree_and_readme(
    git_root, owner_client, django_assert_max_num_queries
):
    host = LocalGitHost()
    repo, _ = host.ensure_repository("team-orders", "orders-api")
    host.commit_files(
        repo,
        {"README.md": b"# Orders API\n\nHello **there**.\n", "src/app.py": b"print('hi')\n"},
        message="scaffold",
    )
    # session + user + the reader's teams (a private repository); the rest is read from git
    with django_assert_max_num_queries(3):
        page = owner_client.get("/git/team-orders/orders-api/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<strong>there</strong>" in html
    assert "app.py" in html
    assert "git clone http://paved.test/git/team-orders/orders-api.git" in html
    blob = owner_client.get("/git/team-orders/orders-api/blob/src/app.py")
    assert "print(&#x27;hi&#x27;)" in blob.content.decode()
    assert owner_client.get("/git/").status_code == 200
    assert owner_client.get("/git/team-orders/missing/").status_code == 404


@pytest.mark.django_db
def test_smart_http_refuses_push_and_requires_auth(git_root, client, settings, owner):
    LocalGitHost().ensure_repository("o", "r", private=False)  # private ones: tests/security
    refs = "/git/o/r.git/info/refs?service=git-upload-pack"
    denied = client.get(refs)
    assert denied.status_code == 401
    assert denied["WWW-Authenticate"].startswith("Basic")
    push = client.get("/git/o/r.git/info/refs?service=git-receive-pack")
    assert push.status_code == 403
    assert client.post("/git/o/r.git/git-receive-pack", b"", content_type="x").status_code == 403
    client.force_login(owner)
    assert client.get(refs).status_code == 200  # a signed-in session may clone
    client.logout()
    settings.PAVED_GIT_HTTP_ANONYMOUS = True
    ok = client.get(refs)
    assert ok.status_code == 200
    assert ok["Content-Type"] == "application/x-git-upload-pack-advertisement"
    # Anonymously, a missing repository asks for credentials like a private one: no telling
    # which private repository names exist.
    assert client.get("/git/o/nope.git/info/refs?service=git-upload-pack").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_git_clone_over_http_with_basic_auth(git_root, live_server, settings, tmp_path, owner):
    settings.PAVED_LOCAL_LOGIN = True  # Basic auth checks portal passwords only when enabled
    settings.PAVED_BASE_URL = live_server.url
    host = LocalGitHost()
    repo, _ = host.ensure_repository("team-orders", "orders-api")
    host.commit_files(
        repo, {"README.md": b"# hi\n", "k8s/app.yaml": b"kind: Deployment\n"}, message="scaffold"
    )
    url = repo.clone_url.replace("http://", "http://olivia:pw-for-tests-1@")
    dest = tmp_path / "clone"
    git("clone", "-q", url, str(dest))
    assert (dest / "k8s" / "app.yaml").read_text() == "kind: Deployment\n"
    # Pushing back is refused by the server.
    (dest / "x").write_text("x")
    git("-c", "user.email=a@b", "-c", "user.name=a", "add", "x", cwd=dest)
    git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "x", cwd=dest)
    with pytest.raises(subprocess.CalledProcessError):
        git("push", "-q", "origin", "main", cwd=dest)
    assert host.list_files(repo) == ["README.md", "k8s/app.yaml"]


def test_concurrent_commits_are_all_kept(git_root):
    """Workers committing at the same time: compare-and-swap update-ref, rebuild, no loss."""
    from concurrent.futures import ThreadPoolExecutor

    host = LocalGitHost()
    repo, _ = host.ensure_repository("o", "busy")

    def commit(i: int) -> bool:
        return host.commit_files(repo, {f"f{i}.txt": str(i).encode()}, message=f"f{i}").changed

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(commit, range(6)))
    assert results == [True] * 6
    assert host.list_files(repo) == [f"f{i}.txt" for i in range(6)]
    assert host.commit_count(repo) == 6


def test_a_failed_creation_leaves_nothing_behind(git_root):
    host = LocalGitHost()
    with pytest.raises(PermanentProviderError):
        host.ensure_repository("acme", "broken", default_branch="bad..branch")
    assert not list((git_root / "acme").glob("*broken*"))  # no half-made repo or temp folder
    repo, created = host.ensure_repository("acme", "broken")  # the name is still free
    assert created
    assert repo.full_name == "acme/broken"
