"""System checks: production settings must not point at the embedded components."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from portal.datadir import broker_folders


@register(Tags.security, deploy=True)
def check_production_components(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    if settings.PAVED_SECRET_KEY_GENERATED:
        problems.append(
            Error(
                "SECRET_KEY was generated into the data directory, which is for development only.",
                hint="Set PAVED_SECRET_KEY_FILE (or PAVED_SECRET_KEY) to a long random secret.",
                id="paved.E001",
            )
        )
    if settings.PAVED_EMBEDDED_DATABASE:
        problems.append(
            Error(
                "The database is the embedded PostgreSQL of `make run` in PAVED_DATA_DIR.",
                hint="Set DATABASE_URL=postgres://... for production; the embedded server lives "
                "and dies with `make run` on one machine.",
                id="paved.E002",
            )
        )
    if settings.PAVED_EMBEDDED_BROKER:
        problems.append(
            Error(
                "The Celery broker is the embedded filesystem transport.",
                hint="Set CELERY_BROKER_URL (or REDIS_URL) to redis://... so workers can scale out.",
                id="paved.E003",
            )
        )
    if settings.PAVED_LOCAL_LOGIN:
        problems.append(
            Warning(
                "Local password accounts are enabled (PAVED_LOCAL_LOGIN=true).",
                hint="Production sign-in should go through SSO; unset PAVED_LOCAL_LOGIN.",
                id="paved.W001",
            )
        )
    if settings.SOCIALACCOUNT_LOGIN_ON_GET:
        problems.append(
            Warning(
                "SSO sign-in starts from a plain link (PAVED_SSO_LOGIN_ON_GET=true).",
                hint="Unset it: a GET that signs people in can be triggered by any other site.",
                id="paved.W002",
            )
        )
    if "example.com" in settings.PAVED_SERVICE_HOST_PATTERN:
        problems.append(
            Warning(
                "New services get host names under example.com "
                f"(PAVED_SERVICE_HOST_PATTERN={settings.PAVED_SERVICE_HOST_PATTERN!r}).",
                hint="Set PAVED_SERVICE_HOST_PATTERN to your domain, e.g. "
                "'{name}.{environment}.apps.acme.internal'.",
                id="paved.W003",
            )
        )
    if "github" in settings.SOCIALACCOUNT_PROVIDERS and not settings.PAVED_GITHUB_OAUTH_ORGS:
        problems.append(
            Error(
                "GitHub sign-in is configured without PAVED_GITHUB_OAUTH_ORGS, so every GitHub "
                "sign-in is refused.",
                hint="Set PAVED_GITHUB_OAUTH_ORGS to your GitHub organisation(s).",
                id="paved.E005",
            )
        )
    if settings.PAVED_DEMO:
        problems.append(
            Error(
                "PAVED_DEMO is on: the demo login hint is shown, anyone may sign up with a "
                "password when local login is on, and cookies are sent over plain HTTP.",
                hint="PAVED_DEMO is for `make run` on your own machine; unset it in production.",
                id="paved.E006",
            )
        )
    if settings.PAVED_NO_LOGIN_METHOD:
        problems.append(
            Error(
                "No way to sign in is configured: no SSO provider and local login is off.",
                hint="Set PAVED_OIDC_SERVER_URL/PAVED_OIDC_CLIENT_ID or PAVED_GITHUB_OAUTH_CLIENT_ID.",
                id="paved.E004",
            )
        )
    return problems


@register("paved_providers", deploy=True)
def check_providers_configured(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """`check --deploy`: every configured provider's check_configuration() (reachability and
    credentials included), the same as `manage.py providers check`."""
    from portal.providers.checks import check_providers

    return [
        Error(
            f"The {report.capability} provider {report.name!r} is not ready: "
            + "; ".join(report.problems),
            hint=f"Fix its settings (selected by {report.setting}); see docs/providers.md and "
            "run `manage.py providers check`.",
            id="paved.E010",
        )
        for report in check_providers()
        if not report.ok
    ]


@register(Tags.compatibility, deploy=True)
def check_on_call_provider(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The on-call provider named by PAVED_ONCALL_PROVIDER resolves and has its credentials
    (no network call: a deploy check must not depend on PagerDuty/Opsgenie being up)."""
    from django.core.exceptions import ImproperlyConfigured

    from portal.providers import on_call

    try:
        provider = on_call()
    except ImproperlyConfigured as exc:
        return [
            Error(
                str(exc),
                hint="Set PAVED_ONCALL_PROVIDER to none, pagerduty or opsgenie.",
                id="paved.E030",
            )
        ]
    if provider is None:
        return []
    return [
        Error(
            problem,
            hint="See docs/on-call.md; with PAVED_ONCALL_PROVIDER=none the on-call steps only "
            "record the owning team.",
            id="paved.E031",
        )
        for problem in provider.check_configuration()
    ]


@register()
def check_data_dir_prepared(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The embedded broker's folders must exist before a worker starts; settings no longer create
    them at import, `manage.py prepare_data_dir` does."""
    if not (settings.DEBUG or settings.PAVED_DEMO):
        return []  # outside development the embedded broker is paved.E003 under --deploy
    missing = [str(folder) for folder in broker_folders() if not folder.is_dir()]
    if not missing:
        return []
    return [
        Warning(
            f"The embedded Celery broker's folders do not exist: {', '.join(missing)}.",
            hint="Run `python manage.py prepare_data_dir` (make run does) before starting a "
            "worker, or set CELERY_BROKER_URL to redis://...",
            id="paved.W010",
        )
    ]
