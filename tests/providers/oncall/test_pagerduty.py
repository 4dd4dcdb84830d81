"""PagerDuty on-call provider against a loopback PagerDuty (tests/fakes/pagerduty.py)."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.providers import on_call
from portal.providers.base import (
    OnCallRef,
    PermanentProviderError,
    ProviderNotConfigured,
    TransientProviderError,
)
from portal.providers.pagerduty import PagerDutyOnCall
from tests.fakes.pagerduty import FakePagerDuty


def _provider(fake: FakePagerDuty, **kwargs: object) -> PagerDutyOnCall:
    options: dict[str, object] = {"token": fake.token, "api_url": fake.url, "timeout": 2}
    options.update(kwargs)
    return PagerDutyOnCall(**options)  # type: ignore[arg-type]


def test_ensure_twice_creates_one_service_on_the_teams_policy(
    fake_pagerduty: FakePagerDuty,
) -> None:
    team = fake_pagerduty.add_team("team-orders")
    fake_pagerduty.add_policy("Someone else's policy")
    policy = fake_pagerduty.add_policy("Orders primary", team=team)
    provider = _provider(fake_pagerduty)

    first, created = provider.ensure_service("orders-api", team="team-orders", description="d")
    second, created_again = provider.ensure_service("orders-api", team="team-orders")

    assert (created, created_again) == (True, False)
    assert first == second
    assert len(fake_pagerduty.services) == 1
    service = fake_pagerduty.services[0]
    assert service["escalation_policy"]["id"] == policy["id"]
    assert first == OnCallRef(
        provider="pagerduty",
        id=service["id"],
        url=f"https://acme.pagerduty.com/service-directory/{service['id']}",
        annotation_key="pagerduty.com/service-id",
        annotation_value=service["id"],
    )
    assert len(fake_pagerduty.calls_to("POST", "/services")) == 1
    post = fake_pagerduty.calls_to("POST", "/services")[0]
    assert post.headers["authorization"] == f"Token token={fake_pagerduty.token}"
    assert post.headers["accept"] == "application/vnd.pagerduty+json;version=2"


def test_escalation_policy_comes_from_the_mapping_setting_first(
    fake_pagerduty: FakePagerDuty,
) -> None:
    mapped = fake_pagerduty.add_policy("Mapped")
    fake_pagerduty.add_policy("team-orders")
    provider = _provider(fake_pagerduty, escalation_policies={"team-orders": mapped["id"]})

    provider.ensure_service("orders-api", team="team-orders")

    assert fake_pagerduty.services[0]["escalation_policy"]["id"] == mapped["id"]
    assert not fake_pagerduty.calls_to("GET", "/teams")


def test_explicit_policy_wins_and_a_policy_named_like_the_team_is_found(
    fake_pagerduty: FakePagerDuty,
) -> None:
    explicit = fake_pagerduty.add_policy("Explicit")
    named = fake_pagerduty.add_policy("team-payments")
    provider = _provider(fake_pagerduty)

    provider.ensure_service("a", team="team-payments", escalation_policy=explicit["id"])
    provider.ensure_service("b", team="team-payments")

    policies = {s["name"]: s["escalation_policy"]["id"] for s in fake_pagerduty.services}
    assert policies == {"a": explicit["id"], "b": named["id"]}


def test_no_escalation_policy_is_a_permanent_error_saying_what_to_set(
    fake_pagerduty: FakePagerDuty,
) -> None:
    with pytest.raises(PermanentProviderError) as excinfo:
        _provider(fake_pagerduty).ensure_service("orders-api", team="team-nobody")
    assert "team-nobody" in str(excinfo.value)
    assert "PAVED_PAGERDUTY_ESCALATION_POLICIES" in str(excinfo.value)
    assert fake_pagerduty.services == []


def test_a_service_created_meanwhile_is_reused(fake_pagerduty: FakePagerDuty) -> None:
    fake_pagerduty.add_policy("team-orders")
    provider = _provider(fake_pagerduty)
    original, _ = provider.ensure_service("orders-api", team="team-orders")
    # The next search misses it (another run is creating it right now): POST says "taken".
    fake_pagerduty.fail_next(200, {"services": [], "limit": 100, "offset": 0, "more": False})

    again, created = provider.ensure_service("orders-api", team="team-orders")

    assert (again, created) == (original, False)
    assert len(fake_pagerduty.services) == 1
    assert len(fake_pagerduty.calls_to("POST", "/services")) == 2


def test_bad_token_is_permanent_and_names_the_setting(fake_pagerduty: FakePagerDuty) -> None:
    provider = _provider(fake_pagerduty, token="wrong")
    with pytest.raises(ProviderNotConfigured) as excinfo:
        provider.ensure_service("orders-api", team="team-orders")
    assert isinstance(excinfo.value, PermanentProviderError)
    assert excinfo.value.provider == "pagerduty"
    message = str(excinfo.value)
    assert message.startswith("pagerduty: ")
    assert "HTTP 401" in message
    assert "PAVED_PAGERDUTY_TOKEN" in message


def test_missing_token_fails_before_any_request(fake_pagerduty: FakePagerDuty) -> None:
    provider = _provider(fake_pagerduty, token="")
    with pytest.raises(ProviderNotConfigured, match="PAVED_PAGERDUTY_TOKEN is not set"):
        provider.ensure_service("orders-api", team="team-orders")
    assert fake_pagerduty.calls == []
    assert provider.check_configuration() == [
        "PAVED_ONCALL_PROVIDER=pagerduty but PAVED_PAGERDUTY_TOKEN (or "
        "PAVED_PAGERDUTY_TOKEN_FILE) is not set"
    ]


def test_rate_limit_is_transient_with_retry_after(fake_pagerduty: FakePagerDuty) -> None:
    fake_pagerduty.fail_next(
        429, {"error": {"message": "Rate Limit Exceeded", "code": 2020}}, {"Retry-After": "7"}
    )
    with pytest.raises(TransientProviderError) as excinfo:
        _provider(fake_pagerduty).ensure_service("orders-api", team="team-orders")
    assert excinfo.value.retry_after == 7
    assert "rate limit" in str(excinfo.value)


def test_server_error_is_transient(fake_pagerduty: FakePagerDuty) -> None:
    fake_pagerduty.fail_next(500, {"error": {"message": "Internal Server Error"}})
    with pytest.raises(TransientProviderError) as excinfo:
        _provider(fake_pagerduty).ensure_service("orders-api", team="team-orders")
    assert excinfo.value.retry_after is None
    assert "HTTP 500" in str(excinfo.value)


def test_other_client_errors_are_permanent(fake_pagerduty: FakePagerDuty) -> None:
    fake_pagerduty.add_policy("team-orders")
    with pytest.raises(PermanentProviderError, match="Escalation policy must be a valid"):
        _provider(fake_pagerduty).ensure_service(
            "orders-api", team="team-orders", escalation_policy="PNOPE00"
        )


def test_timeout_is_honoured_and_transient(fake_pagerduty: FakePagerDuty) -> None:
    fake_pagerduty.delay = 1.5
    provider = _provider(fake_pagerduty, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(TransientProviderError, match=r"did not answer within 0\.3 s"):
        provider.ensure_service("orders-api", team="team-orders")
    assert time.monotonic() - started < 1.2


def test_unreachable_api_is_transient() -> None:
    provider = PagerDutyOnCall(token="t", api_url="http://127.0.0.1:9", timeout=1)
    with pytest.raises(TransientProviderError, match="cannot reach PagerDuty"):
        provider.ensure_service("orders-api", team="team-orders")


def test_accessor_reads_settings_at_call_time(settings, fake_pagerduty: FakePagerDuty) -> None:
    settings.PAVED_ONCALL_PROVIDER = "none"
    assert on_call() is None
    settings.PAVED_ONCALL_PROVIDER = "pagerduty"
    settings.PAVED_PAGERDUTY_TOKEN = fake_pagerduty.token
    settings.PAVED_PAGERDUTY_API_URL = fake_pagerduty.url
    fake_pagerduty.add_policy("team-orders")
    provider = on_call()
    assert isinstance(provider, PagerDutyOnCall)
    ref, created = provider.ensure_service("orders-api", team="team-orders")
    assert created
    assert ref.annotation_key == "pagerduty.com/service-id"
    settings.PAVED_ONCALL_PROVIDER = "victorops"
    with pytest.raises(ImproperlyConfigured, match="known providers: opsgenie, pagerduty"):
        on_call()


def test_an_account_without_the_teams_ability_falls_back_to_the_policy_named_like_the_team(
    fake_pagerduty: FakePagerDuty,
) -> None:
    fake_pagerduty.abilities = set()  # /teams answers 402
    policy = fake_pagerduty.add_policy("team-orders")
    ref, created = _provider(fake_pagerduty).ensure_service("orders-api", team="team-orders")
    assert created
    assert fake_pagerduty.services[0]["escalation_policy"]["id"] == policy["id"]
    assert ref.annotation_value == fake_pagerduty.services[0]["id"]
    assert [c.method for c in fake_pagerduty.calls_to("GET", "/teams")] == ["GET"]


def test_without_the_teams_ability_and_no_policy_the_message_says_so(
    fake_pagerduty: FakePagerDuty,
) -> None:
    fake_pagerduty.abilities = set()
    with pytest.raises(PermanentProviderError) as excinfo:
        _provider(fake_pagerduty).ensure_service("orders-api", team="team-orders")
    message = str(excinfo.value)
    assert "this PagerDuty account has no teams ability" in message
    assert "create an escalation policy named 'team-orders'" in message
    assert "HTTP 402" not in message
