"""GitHub's failure paths the happy fake never took: a repository created but not yet marked,
branch protection a plan or the credentials refuse, topics GitHub rejects, a default branch other
than main, rate limits and paginated lists. Real PyGithub against tests/fakes/github.py."""

from __future__ import annotations

import time

import pytest

from portal.providers.base import NameTaken, TransientProviderError
from portal.providers.github import GitHubHost


@pytest.fixture
def host(github_settings) -> GitHubHost:
    return GitHubHost()


def posts(fake, path: str) -> int:
    return sum(1 for r in fake.requests if r.method == "POST" and r.path == path)


def test_a_failed_topics_call_leaves_a_repository_only_resume_may_finish(host, fake_github):
    fake_github.fail_on("PUT", "/repos/acme/orders-api/topics", 502, {"message": "Server Error"})
    with pytest.raises(TransientProviderError):
        host.ensure_repository("acme", "orders-api", topics=["python"])
    assert fake_github.repos["acme/orders-api"]["topics"] == []  # created, unmarked

    # Without the caller's record it looks like anyone's repository: refused, never touched.
    with pytest.raises(NameTaken, match="was not created by Paved"):
        host.ensure_repository("acme", "orders-api", topics=["python"])

    _repo, created = host.ensure_repository("acme", "orders-api", topics=["python"], resume=True)
    assert created
    state = fake_github.repos["acme/orders-api"]
    assert state["topics"] == ["paved-managed", "python"]
    assert state["protection"]["main"]["allow_force_pushes"] is False
    assert posts(fake_github, "/orgs/acme/repos") == 1  # created once, finished by the retry


def test_protection_refused_by_the_free_plan_is_a_warning(host, fake_github):
    fake_github.plan = "free"
    warnings: list[str] = []
    _, created = host.ensure_repository("acme", "orders-api", warn=warnings.append)
    assert created
    assert fake_github.repos["acme/orders-api"]["protection"] == {}
    assert len(warnings) == 1
    assert "branch main of acme/orders-api is NOT protected" in warnings[0]
    assert "Upgrade to GitHub Pro" in warnings[0]
    assert "needs a paid GitHub plan" in warnings[0]
    # A public repository on the same plan is protected.
    host.ensure_repository("acme", "public-docs", private=False, warn=warnings.append)
    assert "main" in fake_github.repos["acme/public-docs"]["protection"]
    assert len(warnings) == 1


def test_protection_without_admin_rights_is_a_warning_naming_the_permission(host, fake_github):
    fake_github.admin = False
    warnings: list[str] = []
    host.ensure_repository("acme", "orders-api", warn=warnings.append)
    assert "Resource not accessible by integration" in warnings[0]
    assert "Administration: write" in warnings[0]


def test_a_retried_step_applies_the_protection_it_missed(host, fake_github):
    fake_github.fail_on(
        "PUT", "/repos/acme/orders-api/branches/main/protection", 503, {"message": "Unavailable"}
    )
    with pytest.raises(TransientProviderError):
        host.ensure_repository("acme", "orders-api")
    assert fake_github.repos["acme/orders-api"]["topics"] == ["paved-managed"]
    # The marker is there, so a plain call would just "find" it; the step's retry resumes and
    # protects it rather than skipping protection.
    _, created = host.ensure_repository("acme", "orders-api", resume=True)
    assert created
    assert "main" in fake_github.repos["acme/orders-api"]["protection"]


def test_rejected_topics_keep_the_marker_and_warn(host, fake_github):
    warnings: list[str] = []
    host.ensure_repository("acme", "orders-api", topics=["Python Service"], warn=warnings.append)
    assert fake_github.repos["acme/orders-api"]["topics"] == ["paved-managed"]
    assert "GitHub refused the topics Python Service" in warnings[0]
    assert "is not a valid topic" in warnings[0]


def test_default_branch_other_than_main(host, fake_github):
    repo, _ = host.ensure_repository("acme", "orders-api", default_branch="develop")
    state = fake_github.repos["acme/orders-api"]
    assert repo.default_branch == "develop"
    assert state["default_branch"] == "develop"
    assert "develop" in state["protection"]  # protection follows the default branch
    edits = [
        r.json
        for r in fake_github.requests
        if r.method == "PATCH" and r.path == "/repos/acme/orders-api"
    ]
    assert edits
    assert edits[-1]["default_branch"] == "develop"
    host.commit_files(repo, {"a.txt": b"a"}, message="first")
    assert fake_github.files("acme/orders-api", "develop")["a.txt"] == b"a"
    # Repeating after a failure between the branch and the PATCH: the branch is reused.
    fake_github.fail_on("PATCH", "/repos/acme/billing", 502, {"message": "Server Error"})
    with pytest.raises(TransientProviderError):
        host.ensure_repository("acme", "billing", default_branch="develop")
    repo, _ = host.ensure_repository("acme", "billing", default_branch="develop", resume=True)
    assert repo.default_branch == "develop"


def test_every_answer_carries_rate_limit_headers_and_zero_means_wait_for_reset(host, fake_github):
    import requests

    answer = requests.get(
        f"{fake_github.url}/repos/acme/x", headers={"Authorization": "token ghp_test"}, timeout=5
    )
    assert answer.headers["X-RateLimit-Limit"] == "5000"
    assert int(answer.headers["X-RateLimit-Remaining"]) == 4999
    fake_github.rate_remaining = 0
    fake_github.rate_reset = time.time() + 90
    with pytest.raises(TransientProviderError, match="rate limit") as info:
        host.get_repository("acme", "orders-api")
    assert 60 < (info.value.retry_after or 0) <= 90


def test_lists_are_followed_across_pages(host, fake_github):
    repo, _ = host.ensure_repository("acme", "orders-api")
    for i in range(34):  # two pages of 30 before ours
        host.ensure_webhook(repo, url=f"https://hooks.example/{i}", secret="s")
    assert not host.ensure_webhook(repo, url="https://hooks.example/33", secret="s")
    assert len(fake_github.repos["acme/orders-api"]["hooks"]) == 34
    pages = [r.query.get("page") for r in fake_github.requests if r.path.endswith("/hooks")]
    assert "2" in pages  # the second page was fetched through the Link header
