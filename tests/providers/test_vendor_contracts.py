"""The providers' conversations with the fakes, checked against the vendors' own API
descriptions (tests/contracts/specs, trimmed from upstream; see SOURCES.md).

tests/conftest.py checks every test that starts a fake. Here: each provider's whole repertoire
in one workout, so every operation Paved calls is exchanged and checked at least once; and the
checker itself, shown to fail on an invented response field, a body the API would refuse and a
route that does not exist."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from portal.providers.argocd import ArgoCDDeployer
from portal.providers.base import ApplicationSpec
from portal.providers.github import GitHubHost
from portal.providers.opsgenie import OpsgenieOnCall
from portal.providers.pagerduty import PagerDutyOnCall
from tests.contracts.openapi import contract
from tests.contracts.recorder import contract_problems, exchanges_of
from tests.contracts.trim import OPERATIONS
from tests.fakes.github import FakeGitHub
from tests.fakes.opsgenie import FakeOpsgenie
from tests.fakes.pagerduty import FakePagerDuty


def covered(vendor: str, fake: Any) -> set[tuple[str, str]]:
    checker = contract(vendor)
    found = set()
    for exchange in exchanges_of(fake):
        operation = checker.operation(exchange.method, exchange.path)
        assert operation is not None, exchange
        found.add((exchange.method.lower(), operation[0]))
    return found


def test_the_descriptions_hold_every_operation_paved_calls() -> None:
    total = 0
    for vendor, operations in OPERATIONS.items():
        doc = contract(vendor).doc
        for method, path in operations:
            assert method in doc["paths"][path], (vendor, method, path)
        total += len(operations)
    assert total == 38


def test_github_workout(github_settings: Any, fake_github: FakeGitHub) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fake_github.app_id = 12345
    fake_github.app_public_key = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    host = GitHubHost()
    repo, _ = host.ensure_repository("acme", "orders-api", topics=["python"],
                                     default_branch="develop", team="team-orders")  # fmt: skip
    host.commit_files(repo, {"a/b.txt": b"b", "c.txt": b"c"}, message="first")
    assert host.read_file(repo, "a/b.txt") == b"b"
    host.ensure_webhook(repo, url="https://paved.example/hooks/github", secret="s")
    host.ensure_branch(repo, "feature", from_ref="develop")
    host.commit_files(repo, {"c.txt": b"c2"}, message="change", branch="feature")
    pull, _ = host.open_pull_request(
        repo, head="feature", base="develop", title="Change", body="Why"
    )
    host.update_pull_request(repo, pull.number, title="Change, v2", body="Why, again")
    assert host.find_pull_request(repo, pull.number).state == "open"
    assert host.check_configuration() == []
    github_settings.PAVED_GITHUB_ORG = ""
    assert GitHubHost().check_configuration() == []  # GET /rate_limit
    github_settings.PAVED_GITHUB_ORG = "acme"
    github_settings.PAVED_GITHUB_TOKEN = ""
    github_settings.PAVED_GITHUB_APP_ID = "12345"
    github_settings.PAVED_GITHUB_APP_PRIVATE_KEY = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()  # fmt: skip
    GitHubHost().get_repository("acme", "orders-api")

    assert contract_problems(fake_github) == []
    assert covered("github", fake_github) == set(OPERATIONS["github"])


def test_argocd_workout(argocd_settings: Any, fake_argocd: Any) -> None:
    deployer = ArgoCDDeployer()
    app = ApplicationSpec(name="orders-api-dev", repo_url="https://github.com/acme/o.git",
                          path="deploy/dev", destination_namespace="orders-dev")  # fmt: skip
    deployer.ensure_application(app)
    deployer.application_status("orders-api-dev")
    deployer.application_status("missing")  # 403 without a project
    assert deployer.check_configuration() == []
    assert contract_problems(fake_argocd) == []
    assert covered("argocd", fake_argocd) == set(OPERATIONS["argocd"])


def test_pagerduty_workout() -> None:
    fake = FakePagerDuty().start()
    try:
        team = fake.add_team("team-orders")
        fake.add_policy("orders on-call", team=team)
        provider = PagerDutyOnCall(token=fake.token, api_url=fake.url, timeout=5)
        provider.ensure_service("orders-api", team="team-orders")
        provider.ensure_service("orders-api", team="team-orders")
        assert contract_problems(fake) == []
        assert covered("pagerduty", fake) == set(OPERATIONS["pagerduty"])
    finally:
        fake.stop()


def test_opsgenie_workout() -> None:
    fake = FakeOpsgenie().start()
    try:
        provider = OpsgenieOnCall(api_key=fake.api_key, api_url=fake.url, timeout=5)
        provider.ensure_service("orders-api", team="team-orders")
        provider.ensure_service("orders-api", team="team-orders")
        assert contract_problems(fake) == []
        assert covered("opsgenie", fake) == set(OPERATIONS["opsgenie"])
    finally:
        fake.stop()


# --- the checker checked -----------------------------------------------------------------------


class InventiveGitHub(FakeGitHub):
    """A fake that answers a field GitHub never sends."""

    def _repo_json(self, full: str) -> dict[str, Any]:
        return {**super()._repo_json(full), "paved_owner": "team-orders"}


@pytest.fixture
def inventive_github(settings: Any) -> Any:
    fake = InventiveGitHub().start()
    settings.PAVED_GITHUB_API_URL = fake.url
    settings.PAVED_GITHUB_TOKEN = "ghp_test"
    settings.PAVED_GITHUB_APP_ID = ""
    settings.PAVED_GITHUB_APP_PRIVATE_KEY = ""
    settings.PAVED_GITHUB_THROTTLE = False
    yield fake
    fake.stop()
    fake.exchanges.clear()  # it did its job: keep the conftest check from failing this test


def test_an_invented_response_field_fails_the_contract(inventive_github: Any) -> None:
    inventive_github.add_foreign_repo("acme", "orders-api")
    assert GitHubHost().get_repository("acme", "orders-api") is not None  # PyGithub is lenient
    problems = contract_problems(inventive_github)
    assert (
        "GET /repos/acme/orders-api -> 200: /paved_owner: a field the real API never returns or takes"
        in problems
    )


def test_a_request_the_real_api_would_refuse_fails_the_contract(fake_github: FakeGitHub) -> None:
    fake_github.add_foreign_repo("acme", "x")
    auth = {"Authorization": "token ghp_test"}
    # GitHub's body is {"names": [...]}; {"topics": [...]} would be refused.
    requests.put(f"{fake_github.url}/repos/acme/x/topics", json={"topics": ["a"]}, headers=auth,
                 timeout=5)  # fmt: skip
    requests.delete(f"{fake_github.url}/repos/acme/x/topics", headers=auth, timeout=5)
    requests.get(f"{fake_github.url}/repos/acme/x?visibility=all", headers=auth, timeout=5)
    problems = contract_problems(fake_github)
    fake_github.exchanges.clear()
    assert "PUT /repos/acme/x/topics request: (body): 'names' is a required property" in problems
    assert (
        "PUT /repos/acme/x/topics request: /topics: a field the real API never returns or takes"
        in problems
    )
    assert (
        "DELETE /repos/acme/x/topics: no such operation in the github API description" in problems
    )
    assert "GET /repos/acme/x: query parameter 'visibility' is not in the description" in problems


def test_a_wrongly_typed_answer_fails_the_contract() -> None:
    fake = FakePagerDuty().start()
    try:
        fake.fail_next(200, {"services": [{"id": 7, "name": "x"}], "more": "no"})
        requests.get(f"{fake.url}/services", headers={"Authorization": f"Token token={fake.token}"},
                     timeout=5)  # fmt: skip
        problems = contract_problems(fake)
        fake.exchanges.clear()
    finally:
        fake.stop()
    assert "GET /services -> 200: more: 'no' is not of type 'boolean'" in problems
    assert "GET /services -> 200: services/0/id: 7 is not of type 'string'" in problems
