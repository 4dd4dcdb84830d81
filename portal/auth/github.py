"""GitHub sign-in, for members of the configured organisations (and, optionally, teams) only.

GitHub lets any of its users through OAuth; without a check anybody with a GitHub account could
create a Paved account. After GitHub confirms who someone is, `github_refusal` asks GitHub, with
that person's own token (scope `read:org`), whether they are an active member of one of
PAVED_GITHUB_OAUTH_ORGS (and of one of PAVED_GITHUB_OAUTH_TEAMS, when set). Anyone else is
refused before any account is created or signed in; so is everyone when no organisation is
configured (fail closed).

The OAuth views are allauth's, with the GitHub URLs read from settings per request (allauth's
own adapter fixes them at import), so GitHub Enterprise Server (PAVED_GITHUB_OAUTH_URL) works.
"""

from __future__ import annotations

from typing import Any

import requests
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.github.provider import GitHubProvider
from allauth.socialaccount.providers.github.views import GitHubOAuth2Adapter
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from django.conf import settings
from django.http import HttpRequest

GITHUB_COM = "https://github.com"


def github_urls() -> tuple[str, str]:
    """(web URL, API URL) of the GitHub that people sign in with."""
    provider: dict[str, Any] = settings.SOCIALACCOUNT_PROVIDERS.get("github", {})
    web = str(provider.get("GITHUB_URL") or GITHUB_COM).rstrip("/")
    return web, "https://api.github.com" if web == GITHUB_COM else f"{web}/api/v3"


class PavedGitHubOAuth2Adapter(GitHubOAuth2Adapter):
    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request)
        web, api = github_urls()
        self.web_url, self.api_url = web, api
        self.access_token_url = f"{web}/login/oauth/access_token"
        self.authorize_url = f"{web}/login/oauth/authorize"
        self.profile_url = f"{api}/user"
        self.emails_url = f"{api}/user/emails"


class PavedGitHubProvider(GitHubProvider):
    """allauth's GitHub provider, starting the sign-in with the adapter above
    (PavedSocialAccountAdapter.get_provider hands it out)."""

    oauth2_adapter_class = PavedGitHubOAuth2Adapter


oauth2_login = OAuth2LoginView.adapter_view(PavedGitHubOAuth2Adapter)
oauth2_callback = OAuth2CallbackView.adapter_view(PavedGitHubOAuth2Adapter)


def _active(session: requests.Session, url: str, token: str) -> bool:
    """GitHub's membership endpoints answer 200 with state "active" for a member, 404 (or 403
    when the organisation restricts OAuth apps) otherwise; anything else is "not shown"."""
    response = session.get(
        url, headers={"Authorization": f"token {token}", "Accept": "application/vnd.github+json"}
    )
    if response.status_code != 200:
        return False
    try:
        return bool(response.json().get("state") == "active")
    except ValueError:
        return False


def github_refusal(*, token: str, login: str) -> str:
    """ "" when this GitHub user may sign in; otherwise, in plain words, why not."""
    orgs = [o.strip() for o in settings.PAVED_GITHUB_OAUTH_ORGS if o.strip()]
    teams = [t.strip() for t in settings.PAVED_GITHUB_OAUTH_TEAMS if t.strip()]
    if not orgs:
        return (
            "GitHub sign-in is not limited to an organisation on this Paved yet, so it is "
            "refused for everyone. The platform team must set PAVED_GITHUB_OAUTH_ORGS."
        )
    _, api = github_urls()
    try:
        with get_adapter().get_requests_session() as session:
            if not any(
                _active(session, f"{api}/user/memberships/orgs/{org}", token) for org in orgs
            ):
                return (
                    f"Your GitHub account {login} is not a member of "
                    f"{_either(orgs, 'organisation')}, so it may not use this Paved. If you "
                    "are a member, make sure Paved was granted access to the organisation."
                )
            if teams and not any(
                _active(
                    session,
                    f"{api}/orgs/{team.partition('/')[0]}/teams/{team.partition('/')[2]}"
                    f"/memberships/{login}",
                    token,
                )
                for team in teams
                if "/" in team
            ):
                return (
                    f"Your GitHub account {login} is not a member of {_either(teams, 'team')}, "
                    "so it may not use this Paved."
                )
    except requests.RequestException:
        return "GitHub did not answer whether you belong to the organisation; try again later."
    return ""


def _either(names: list[str], what: str) -> str:
    if len(names) == 1:
        return f"the {what} {names[0]}"
    return f"any of the {what}s {', '.join(names)}"
