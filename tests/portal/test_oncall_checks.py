"""`manage.py check --deploy` reports an on-call provider that cannot work."""

from __future__ import annotations

from django.core.checks import run_checks


def _oncall_messages() -> list[tuple[str, str]]:
    messages = run_checks(include_deployment_checks=True)
    return [(m.id or "", m.msg) for m in messages if (m.id or "") in {"paved.E030", "paved.E031"}]


def test_no_provider_is_fine(settings) -> None:
    settings.PAVED_ONCALL_PROVIDER = "none"
    assert _oncall_messages() == []


def test_pagerduty_without_token_is_an_error(settings) -> None:
    settings.PAVED_ONCALL_PROVIDER = "pagerduty"
    settings.PAVED_PAGERDUTY_TOKEN = ""
    assert _oncall_messages() == [
        (
            "paved.E031",
            "PAVED_ONCALL_PROVIDER=pagerduty but PAVED_PAGERDUTY_TOKEN (or "
            "PAVED_PAGERDUTY_TOKEN_FILE) is not set",
        )
    ]


def test_configured_opsgenie_passes_and_bad_url_does_not(settings) -> None:
    settings.PAVED_ONCALL_PROVIDER = "opsgenie"
    settings.PAVED_OPSGENIE_API_KEY = "key"
    settings.PAVED_OPSGENIE_API_URL = "https://api.eu.opsgenie.com"
    assert _oncall_messages() == []
    settings.PAVED_OPSGENIE_API_URL = "api.opsgenie.com"
    assert _oncall_messages() == [
        ("paved.E031", "PAVED_OPSGENIE_API_URL='api.opsgenie.com' is not an http(s) URL")
    ]


def test_unknown_provider_is_an_error(settings) -> None:
    settings.PAVED_ONCALL_PROVIDER = "victorops"
    [(check_id, message)] = _oncall_messages()
    assert check_id == "paved.E030"
    assert "Unknown on-call provider 'victorops'" in message
