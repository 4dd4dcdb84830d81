"""GitHub specifics against the loopback fake (tests/fakes/github.py): real PyGithub, real HTTP."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from portal.providers.base import (
    PermanentProviderError,
    ProviderNotConfigured,
    TransientProviderError,
)
from portal.providers.github import GitHubHost


@pytest.fixture
def host(github_settings) -> GitHubHost:
    return GitHubHost()


def calls(fake, method: str, suffix: str) -> int:
    return sum(1 for r in fake.requests if r.method == method and r.path.endswith(suffix))


def test_created_repository_is_marked_protected_and_shared(host, fake_github):
    repo, created = host.ensure_repository(
        "acme",
        "orders-api",
        description="Orders",
        private=True,
        topics=["python"],
        team="team-orders",
    )
    assert created
    state = fake_github.repos["acme/orders-api"]
    assert state["topics"] == ["paved-managed", "python"]
    assert state["private"] is True
    assert state["teams"] == {"team-orders": "push"}
    protection = state["protection"]["main"]
    assert protection["allow_force_pushes"] is False
    assert protection["required_linear_history"] is True
    assert repo.default_branch == "main"


def test_unknown_organisation_is_a_clear_permanent_error(host):
    with pytest.raises(PermanentProviderError, match="organisation 'platform' does not exist"):
        host.ensure_repository("platform", "gitops")


def test_unknown_team_is_a_warning_not_a_silent_success(host, fake_github):
    warnings: list[str] = []
    _repo, created = host.ensure_repository(
        "acme", "orders-api", team="no-such-team", warn=warnings.append
    )
    assert created
    assert fake_github.repos["acme/orders-api"]["teams"] == {}
    assert warnings == [
        "team no-such-team was NOT given write access to acme/orders-api: there is no team "
        "'no-such-team' in acme. Check the template's `access` value, or grant the access in "
        "the repository's settings."
    ]


def test_whole_tree_goes_in_one_commit_and_unchanged_files_are_not_uploaded(host, fake_github):
    repo, _ = host.ensure_repository("acme", "orders-api")
    tree = {f"src/module_{i}.py": f"x = {i}\n".encode() for i in range(10)}
    host.commit_files(repo, tree, message="scaffold")
    assert calls(fake_github, "POST", "/git/commits") == 1
    assert calls(fake_github, "PATCH", "/git/refs/heads/main") == 1
    assert calls(fake_github, "POST", "/git/blobs") == 10
    assert fake_github.commit_count("acme/orders-api") == 2  # auto_init + ours
    assert fake_github.files("acme/orders-api")["src/module_3.py"] == b"x = 3\n"

    host.commit_files(repo, {**tree, "src/module_3.py": b"x = 33\n"}, message="tweak")
    assert calls(fake_github, "POST", "/git/blobs") == 11  # only the changed file
    assert calls(fake_github, "POST", "/git/commits") == 2


def test_delete_missing_replaces_the_tree(host, fake_github):
    repo, _ = host.ensure_repository("acme", "orders-api")
    host.commit_files(repo, {"a": b"1"}, message="a")
    host.commit_files(repo, {"b": b"2"}, message="only b", delete_missing=True)
    assert set(fake_github.files("acme/orders-api")) == {"b"}


@pytest.mark.parametrize(
    ("status", "headers", "message", "expected_wait"),
    [
        # Secondary rate limit with Retry-After (docs: "Rate limits for the REST API").
        (403, {"Retry-After": "30"}, "You have exceeded a secondary rate limit.", 30),
        # Secondary rate limit without Retry-After: wait at least a minute.
        (403, {}, "You have exceeded a secondary rate limit. Please wait a few minutes.", 60),
        (429, {"Retry-After": "7"}, "Too Many Requests", 7),
    ],
)
def test_rate_limits_are_transient_with_retry_after(
    host, fake_github, status, headers, message, expected_wait
):
    fake_github.fail_next(status, {"message": message}, headers)
    with pytest.raises(TransientProviderError) as info:
        host.get_repository("acme", "orders-api")
    assert info.value.retry_after == expected_wait


def test_primary_rate_limit_waits_until_reset(host, fake_github):
    reset = int(time.time()) + 120
    fake_github.fail_next(
        403,
        {"message": "API rate limit exceeded for installation ID 42."},
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    with pytest.raises(TransientProviderError) as info:
        host.get_repository("acme", "orders-api")
    assert 100 < info.value.retry_after <= 120


def test_server_errors_are_transient_and_bad_token_is_not_configured(
    host, fake_github, github_settings
):
    fake_github.fail_next(502, {"message": "Server Error"})
    with pytest.raises(TransientProviderError):
        host.get_repository("acme", "x")
    github_settings.PAVED_GITHUB_TOKEN = "ghp_wrong"
    with pytest.raises(ProviderNotConfigured, match="rejected the credentials") as info:
        GitHubHost().get_repository("acme", "x")
    assert "ghp_wrong" not in str(info.value)
    assert GitHubHost().check_configuration() != []


def test_missing_credentials_are_reported(github_settings):
    github_settings.PAVED_GITHUB_TOKEN = ""
    problems = GitHubHost().check_configuration()
    assert problems == [
        "github: no credentials; set PAVED_GITHUB_TOKEN(_FILE) or the GitHub App settings "
        "PAVED_GITHUB_APP_ID, PAVED_GITHUB_APP_PRIVATE_KEY(_FILE)"
    ]
    with pytest.raises(ProviderNotConfigured):
        GitHubHost().get_repository("acme", "x")


def test_github_app_installation_auth(github_settings, fake_github):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fake_github.app_id = 12345
    fake_github.app_public_key = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    github_settings.PAVED_GITHUB_TOKEN = ""
    github_settings.PAVED_GITHUB_APP_ID = "12345"
    github_settings.PAVED_GITHUB_APP_PRIVATE_KEY = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    host = GitHubHost()  # installation id looked up from the org
    repo, created = host.ensure_repository("acme", "orders-api")
    assert created
    host.commit_files(repo, {"x.txt": b"x"}, message="as the app")
    assert fake_github.token_requests == 1  # one installation token, reused
    by_scheme = {}
    for r in fake_github.requests:
        by_scheme.setdefault(r.headers["authorization"].split()[0], set()).add(r.path)
    # The App JWT only looks up the installation and mints its token; everything else
    # runs as the installation.
    assert by_scheme["Bearer"] == {"/orgs/acme/installation", "/app/installations/42/access_tokens"}
    assert "/orgs/acme/repos" in by_scheme["token"]
    assert host.check_configuration() == []


def test_every_call_has_a_timeout(github_settings):
    """A server that accepts connections and never answers must not hang a worker."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    accepted = []
    stop = threading.Event()

    def accept():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(sock.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    github_settings.PAVED_GITHUB_API_URL = f"http://127.0.0.1:{sock.getsockname()[1]}"
    github_settings.PAVED_PROVIDER_TIMEOUT = 1
    started = time.monotonic()
    try:
        with pytest.raises(TransientProviderError, match=r"did not answer in time|cannot reach"):
            GitHubHost().get_repository("acme", "x")
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        sock.close()
    assert time.monotonic() - started < 10
