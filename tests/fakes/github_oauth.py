"""GitHub's OAuth web flow and the user/membership endpoints sign-in reads, on 127.0.0.1.

Mirrors GitHub Enterprise Server's layout (web at the root, REST under /api/v3), which is what
Paved talks to when PAVED_GITHUB_OAUTH_URL is set:
- GET  /login/oauth/authorize       the consent page; here it redirects straight back with a code
                                    for `next_login` (the person "at the keyboard")
- POST /login/oauth/access_token    code -> access token (JSON, as with Accept: application/json)
- GET  /api/v3/user, /api/v3/user/emails
- GET  /api/v3/user/memberships/orgs/{org}                     200 {"state": "active"} or 404
- GET  /api/v3/orgs/{org}/teams/{team}/memberships/{username}  200 {"state": "active"} or 404
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from tests.fakes.http import FakeServer, Request, Response

SEG = r"([^/]+)"


@dataclass
class GitHubUser:
    login: str
    email: str
    orgs: set[str] = field(default_factory=set)
    teams: set[str] = field(default_factory=set)  # "org/team-slug"
    id: int = 0


class FakeGitHubOAuth(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.users: dict[str, GitHubUser] = {}
        self.next_login = ""
        self.codes: dict[str, str] = {}
        self.tokens: dict[str, str] = {}
        self.ids = itertools.count(5000)
        r = self.route
        r("GET", "/login/oauth/authorize", self.authorize)
        r("POST", "/login/oauth/access_token", self.access_token)
        r("GET", "/api/v3/user", self.user)
        r("GET", "/api/v3/user/emails", self.emails)
        r("GET", f"/api/v3/user/memberships/orgs/{SEG}", self.org_membership)
        r("GET", f"/api/v3/orgs/{SEG}/teams/{SEG}/memberships/{SEG}", self.team_membership)

    def add_user(
        self, login: str, email: str, *, orgs: Iterable[str] = (), teams: Iterable[str] = ()
    ) -> GitHubUser:
        user = GitHubUser(login, email, set(orgs), set(teams), next(self.ids))
        self.users[login] = user
        return user

    def _who(self, request: Request) -> GitHubUser | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        login = self.tokens.get(token) if scheme.lower() in ("token", "bearer") else None
        return self.users.get(login or "")

    def authorize(self, request: Request) -> Response:
        code = f"code-{next(self.ids)}"
        self.codes[code] = self.next_login
        query = urlencode({"code": code, "state": request.query.get("state", "")})
        return Response(302, None, {"Location": f"{request.query['redirect_uri']}?{query}"})

    def access_token(self, request: Request) -> Response:
        from urllib.parse import parse_qs

        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        login = self.codes.pop(form.get("code", ""), None)
        if login is None:
            return Response(200, {"error": "bad_verification_code"})
        token = f"gho_{next(self.ids)}"
        self.tokens[token] = login
        return Response(200, {"access_token": token, "token_type": "bearer",
                              "scope": "read:user,user:email,read:org"})  # fmt: skip

    def user(self, request: Request) -> Response:
        who = self._who(request)
        if who is None:
            return Response(401, {"message": "Bad credentials"})
        return Response(200, {"login": who.login, "id": who.id, "name": who.login.title(),
                              "email": who.email, "html_url": f"{self.url}/{who.login}"})  # fmt: skip

    def emails(self, request: Request) -> Response:
        who = self._who(request)
        if who is None:
            return Response(401, {"message": "Bad credentials"})
        return Response(200, [{"email": who.email, "primary": True, "verified": True,
                               "visibility": "private"}])  # fmt: skip

    def org_membership(self, request: Request, org: str) -> Response:
        who = self._who(request)
        if who is None:
            return Response(401, {"message": "Bad credentials"})
        if org not in who.orgs:
            return Response(404, {"message": "Not Found"})
        return Response(200, {"state": "active", "role": "member",
                              "organization": {"login": org}, "user": {"login": who.login}})  # fmt: skip

    def team_membership(self, request: Request, org: str, team: str, username: str) -> Response:
        who = self._who(request)
        if who is None:
            return Response(401, {"message": "Bad credentials"})
        member = self.users.get(username)
        if member is None or f"{org}/{team}" not in member.teams:
            return Response(404, {"message": "Not Found"})
        return Response(200, {"state": "active", "role": "member"})
