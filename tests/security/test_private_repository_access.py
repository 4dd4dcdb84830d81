"""`repoVisibility: private` local repositories: only the owning team and platform admins may
read them — browse pages, files, pull requests, and git clone/fetch over HTTP. Everyone else
gets 404, as if the repository did not exist, and learns nothing of its content."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from portal.providers.base import RepoRef
from portal.providers.local_git.provider import LocalGitHost

SECRET = b"DATABASE_PASSWORD=s3cret-value\n"
REPO = "/git/team-orders/secret-api"
PAGES = [f"{REPO}/", f"{REPO}/blob/config/app.env", f"{REPO}/pulls/", f"{REPO}/pulls/1/"]
REFS = "/git/team-orders/secret-api.git/info/refs?service=git-upload-pack"


@pytest.fixture
def host(tmp_path: Path, settings: Any) -> LocalGitHost:
    settings.PAVED_GIT_LOCAL_ROOT = str(tmp_path / "git")
    settings.PAVED_BASE_URL = "http://paved.test"
    return LocalGitHost()


@pytest.fixture
def secret_repo(host: LocalGitHost) -> RepoRef:
    """team-orders' private repository (the publish step's default), with an open PR."""
    repo, _ = host.ensure_repository("team-orders", "secret-api", private=True)
    host.commit_files(repo, {"config/app.env": SECRET, "README.md": b"# Secret API\n"},
                      message="scaffold")  # fmt: skip
    host.ensure_branch(repo, "more", from_ref="main")
    host.commit_files(repo, {"config/more.env": SECRET}, message="more", branch="more")
    host.open_pull_request(repo, head="more", base="main", title="More secrets")
    return repo


def _basic(user: str) -> dict[str, str]:
    password = "pw-for-tests-1"
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.django_db
def test_another_teams_private_repository_is_not_found_on_any_page(
    client: Client, outsider: User, secret_repo: RepoRef, host: LocalGitHost
) -> None:
    client.force_login(outsider)
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"s3cret" not in response.content
        assert b"More secrets" not in response.content
    listing = client.get("/git/").content.decode()
    assert "secret-api" not in listing
    # Merging and closing are refused the same way, and the pull request stays open.
    assert client.post(f"{REPO}/pulls/1/merge").status_code == 404
    assert client.post(f"{REPO}/pulls/1/close").status_code == 404
    pull = host.get_pull_request(secret_repo, 1)
    assert pull is not None
    assert pull.is_open
    assert host.list_files(secret_repo) == ["README.md", "config/app.env"]


@pytest.mark.django_db
def test_another_teams_private_repository_cannot_be_fetched_over_http(
    client: Client, outsider: User, secret_repo: RepoRef, settings: Any
) -> None:
    settings.PAVED_LOCAL_LOGIN = True
    cache.clear()  # the failed-password limit is not what this test is about
    # With a session...
    client.force_login(outsider)
    refs = client.get(REFS)
    assert refs.status_code == 404
    assert b"refs/heads" not in refs.content
    upload = client.post("/git/team-orders/secret-api.git/git-upload-pack", b"0000",
                         content_type="application/x-git-upload-pack-request")  # fmt: skip
    assert upload.status_code == 404
    client.logout()
    # ...with Basic auth...
    assert Client().get(REFS, headers=_basic("oscar")).status_code == 404
    # ...and anonymously, even where anonymous cloning is switched on.
    settings.PAVED_GIT_HTTP_ANONYMOUS = True
    anonymous = Client().get(REFS)
    assert anonymous.status_code == 401
    assert b"refs/heads" not in anonymous.content


@pytest.mark.django_db(transaction=True)
def test_real_git_clone_of_a_private_repository_by_another_team_fails(
    live_server: Any, settings: Any, tmp_path: Path, owner: User, outsider: User, host: Any
) -> None:
    settings.PAVED_LOCAL_LOGIN = True
    settings.PAVED_BASE_URL = live_server.url
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    for user in (owner, outsider):
        user.set_password("pw-for-tests-1")
        user.save()
    cache.clear()
    repo, _ = host.ensure_repository("team-orders", "secret-api", private=True)
    host.commit_files(repo, {"config/app.env": SECRET}, message="scaffold")
    url = repo.clone_url

    def clone(user: str, dest: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "clone", "-q", url.replace("http://", f"http://{user}:pw-for-tests-1@"),
             str(dest)],
            capture_output=True, text=True, timeout=60, check=False,
            env={"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )  # fmt: skip

    refused = clone("oscar", tmp_path / "stolen")
    assert refused.returncode != 0
    assert "not found" in refused.stderr.lower() or "404" in refused.stderr
    assert not list((tmp_path / "stolen").rglob("app.env"))
    allowed = clone("olivia", tmp_path / "mine")
    assert allowed.returncode == 0, allowed.stderr
    assert (tmp_path / "mine" / "config" / "app.env").read_bytes() == SECRET


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["owner", "platform_admin"])
def test_the_owning_team_and_platform_admins_still_read_it(
    client: Client, secret_repo: RepoRef, who: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(who))
    for url in PAGES:
        assert client.get(url).status_code == 200, url
    assert "secret-api" in client.get("/git/").content.decode()
    assert client.get(REFS).status_code == 200


@pytest.mark.django_db
def test_the_team_given_at_creation_owns_it_too(
    client: Client, owner: User, outsider: User, host: LocalGitHost
) -> None:
    """A publish step's `access: org/team-payments` gives that team the repository, whatever
    its owner segment; nobody else gains anything from it."""
    repo, _ = host.ensure_repository("shared", "tools", private=True, team="team-payments")
    host.commit_files(repo, {"README.md": b"# tools\n"}, message="init")
    client.force_login(outsider)
    assert client.get("/git/shared/tools/").status_code == 200
    client.force_login(owner)
    assert client.get("/git/shared/tools/").status_code == 404


@pytest.mark.django_db
def test_public_repositories_stay_readable_by_everyone_signed_in(
    client: Client, outsider: User, host: LocalGitHost
) -> None:
    repo, _ = host.ensure_repository("team-orders", "open-api", private=False)
    host.commit_files(repo, {"README.md": b"# open\n"}, message="init")
    client.force_login(outsider)
    assert client.get("/git/team-orders/open-api/").status_code == 200
    assert (
        client.get("/git/team-orders/open-api.git/info/refs?service=git-upload-pack").status_code
        == 200
    )
