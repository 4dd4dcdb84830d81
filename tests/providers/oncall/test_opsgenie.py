"""Opsgenie on-call provider against a loopback Opsgenie (tests/fakes/opsgenie.py)."""

from __future__ import annotations

import time

import pytest

from portal.providers import on_call
from portal.providers.base import (
    OnCallRef,
    PermanentProviderError,
    ProviderNotConfigured,
    TransientProviderError,
)
from portal.providers.opsgenie import OpsgenieOnCall
from tests.fakes.opsgenie import FakeOpsgenie


def _provider(fake: FakeOpsgenie, **kwargs: object) -> OpsgenieOnCall:
    options: dict[str, object] = {"api_key": fake.api_key, "api_url": fake.url, "timeout": 2}
    options.update(kwargs)
    return OpsgenieOnCall(**options)  # type: ignore[arg-type]


def test_ensure_twice_creates_one_team_with_one_schedule(fake_opsgenie: FakeOpsgenie) -> None:
    provider = _provider(fake_opsgenie)

    first, created = provider.ensure_service("orders-api", team="team-orders")
    second, created_again = provider.ensure_service("orders-api", team="team-orders")

    assert (created, created_again) == (True, False)
    assert first == second
    assert [t["name"] for t in fake_opsgenie.teams] == ["team-orders"]
    team = fake_opsgenie.teams[0]
    assert [(s["name"], s["ownerTeam"]["name"]) for s in fake_opsgenie.schedules] == [
        ("team-orders_schedule", "team-orders")
    ]
    assert first == OnCallRef(
        provider="opsgenie",
        id=team["id"],
        url=f"https://app.opsgenie.com/teams/dashboard/{team['id']}/main",
        annotation_key="opsgenie.com/team",
        annotation_value="team-orders",
    )
    assert len(fake_opsgenie.calls_to("POST", "/v2/teams")) == 1
    lookup = fake_opsgenie.calls_to("GET", "/v2/teams/team-orders")[0]
    assert lookup.arg("identifierType") == "name"
    assert lookup.headers["authorization"] == f"GenieKey {fake_opsgenie.api_key}"


def test_existing_team_and_named_schedule_are_reused(fake_opsgenie: FakeOpsgenie) -> None:
    team = fake_opsgenie.add_team("team-payments")
    fake_opsgenie.add_schedule("payments-24x7", team)

    ref, created = _provider(fake_opsgenie).ensure_service(
        "payments-api", team="team-payments", escalation_policy="payments-24x7"
    )

    assert created is False
    assert ref.id == team["id"]
    assert len(fake_opsgenie.schedules) == 1
    assert not fake_opsgenie.calls_to("POST", "/v2/teams")
    assert not fake_opsgenie.calls_to("POST", "/v2/schedules")


def test_existing_team_without_schedule_gets_one(fake_opsgenie: FakeOpsgenie) -> None:
    fake_opsgenie.add_team("team-orders")
    _, changed = _provider(fake_opsgenie).ensure_service("orders-api", team="team-orders")
    assert changed is True
    assert [s["name"] for s in fake_opsgenie.schedules] == ["team-orders_schedule"]


def test_a_team_created_meanwhile_is_reused(fake_opsgenie: FakeOpsgenie) -> None:
    team = fake_opsgenie.add_team("team-orders")
    fake_opsgenie.fail_next(404, {"message": "No team exists with name [team-orders]"})

    ref, _ = _provider(fake_opsgenie).ensure_service("orders-api", team="team-orders")

    assert ref.id == team["id"]
    assert len(fake_opsgenie.teams) == 1  # the POST got 409 and we read the team back


def test_bad_key_is_permanent_and_names_the_setting(fake_opsgenie: FakeOpsgenie) -> None:
    with pytest.raises(ProviderNotConfigured) as excinfo:
        _provider(fake_opsgenie, api_key="wrong").ensure_service("a", team="team-orders")
    assert isinstance(excinfo.value, PermanentProviderError)
    assert excinfo.value.provider == "opsgenie"
    message = str(excinfo.value)
    assert message.startswith("opsgenie: ")
    assert "HTTP 401: Could not authenticate" in message
    assert "PAVED_OPSGENIE_API_KEY" in message


def test_missing_key_is_reported_by_check_configuration(fake_opsgenie: FakeOpsgenie) -> None:
    provider = _provider(fake_opsgenie, api_key="")
    with pytest.raises(ProviderNotConfigured, match="PAVED_OPSGENIE_API_KEY is not set"):
        provider.ensure_service("a", team="team-orders")
    assert fake_opsgenie.calls == []
    assert "PAVED_OPSGENIE_API_KEY" in provider.check_configuration()[0]


def test_rate_limit_is_transient_with_retry_after(fake_opsgenie: FakeOpsgenie) -> None:
    fake_opsgenie.fail_next(429, {"message": "Too many requests"}, {"Retry-After": "12"})
    with pytest.raises(TransientProviderError) as excinfo:
        _provider(fake_opsgenie).ensure_service("a", team="team-orders")
    assert excinfo.value.retry_after == 12


def test_server_error_is_transient(fake_opsgenie: FakeOpsgenie) -> None:
    fake_opsgenie.fail_next(503, {"message": "Service unavailable"})
    with pytest.raises(TransientProviderError, match="HTTP 503"):
        _provider(fake_opsgenie).ensure_service("a", team="team-orders")


def test_validation_error_is_permanent(fake_opsgenie: FakeOpsgenie) -> None:
    fake_opsgenie.fail_next(404, {"message": "No team exists with name [x]"})
    fake_opsgenie.fail_next(422, {"message": "Team name is invalid", "took": 0.0})
    with pytest.raises(PermanentProviderError, match="HTTP 422"):
        _provider(fake_opsgenie).ensure_service("a", team="x")


def test_an_empty_team_name_fails_before_any_request(fake_opsgenie: FakeOpsgenie) -> None:
    # Found by the API contract check: "GET /v2/teams/" is no Opsgenie operation.
    with pytest.raises(PermanentProviderError, match="no team name"):
        _provider(fake_opsgenie).ensure_service("a", team=" ")
    assert fake_opsgenie.calls == []


def test_timeout_is_honoured_and_transient(fake_opsgenie: FakeOpsgenie) -> None:
    fake_opsgenie.delay = 1.5
    started = time.monotonic()
    with pytest.raises(TransientProviderError, match=r"did not answer within 0\.3 s"):
        _provider(fake_opsgenie, timeout=0.3).ensure_service("a", team="team-orders")
    assert time.monotonic() - started < 1.2


def test_accessor_builds_it_from_settings(settings, fake_opsgenie: FakeOpsgenie) -> None:
    settings.PAVED_ONCALL_PROVIDER = "opsgenie"
    settings.PAVED_OPSGENIE_API_KEY = fake_opsgenie.api_key
    settings.PAVED_OPSGENIE_API_URL = fake_opsgenie.url
    provider = on_call()
    assert isinstance(provider, OpsgenieOnCall)
    ref, _ = provider.ensure_service("orders-api", team="team-orders")
    assert ref.annotation_value == "team-orders"


def test_a_schedule_named_like_a_team_is_refused_with_a_next_step(
    fake_opsgenie: FakeOpsgenie,
) -> None:
    fake_opsgenie.add_team("team-orders")
    fake_opsgenie.add_team("payments")
    with pytest.raises(PermanentProviderError) as excinfo:
        _provider(fake_opsgenie).ensure_service(
            "orders-api", team="team-orders", escalation_policy="payments"
        )
    message = str(excinfo.value)
    assert "There is already one Team with same name" in message
    assert "pass escalationPolicy with another schedule name" in message


def test_a_conflict_on_a_team_this_key_cannot_read_is_not_taken_for_success(
    fake_opsgenie: FakeOpsgenie,
) -> None:
    fake_opsgenie.fail_next(404, {"message": "No team exists with name [ops]"})
    fake_opsgenie.fail_next(409, {"message": "There is already one Team with same name"})
    fake_opsgenie.fail_next(404, {"message": "No team exists with name [ops]"})
    with pytest.raises(PermanentProviderError, match="Nothing named so is readable"):
        _provider(fake_opsgenie).ensure_service("orders-api", team="ops")
