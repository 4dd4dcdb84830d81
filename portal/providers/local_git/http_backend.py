"""Read-only clones over HTTP: drive `git http-backend` (git's smart-HTTP CGI) from Django.

Only the upload-pack service (fetch/clone) is exposed; receive-pack (push) is refused here and
disabled in every repository's config (`http.receivepack=false`), so the portal is the only
writer. Who: a signed-in session or HTTP Basic with a portal username/password (rate limited
like the sign-in page); anyone when PAVED_GIT_HTTP_ANONYMOUS=true, except for private
repositories, which only their team and platform admins may fetch (access.can_read).
"""

from __future__ import annotations

import base64
import binascii
import subprocess

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from portal.auth.passwords import PasswordRefused, check_password
from portal.providers.base import PermanentProviderError
from portal.providers.local_git.access import can_read
from portal.providers.local_git.client import git_env
from portal.providers.local_git.provider import LocalGitHost, repo_dir

BACKEND_TIMEOUT = 300  # seconds; a clone of a generated repository takes well under this


def _basic_auth_user(request: HttpRequest) -> User | None:
    """The user of a valid HTTP Basic header (None without one, or with a wrong password).
    Raises PasswordRefused after too many failures: the sign-in page's rate limit applies."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        username, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not username or not password:
        return None
    return check_password(request, username=username, password=password)


def _challenge() -> HttpResponse:
    response = _plain(401, "Sign in with your Paved username and password.")
    response["WWW-Authenticate"] = 'Basic realm="Paved git", charset="UTF-8"'
    return response


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt  # git clients carry no CSRF token; only the read-only service is reachable
@login_not_required  # authentication is checked below (session, Basic, or anonymous)
def git_http_backend(request: HttpRequest, owner: str, name: str, rest: str) -> HttpResponse:
    service = request.GET.get("service", "")
    if (rest == "info/refs" and request.method == "GET" and service == "git-upload-pack") or (
        rest == "git-upload-pack" and request.method == "POST"
    ):
        pass
    elif "receive-pack" in rest or service == "git-receive-pack":
        return _plain(403, "Pushing is not allowed: Paved's local repositories are read-only.")
    else:
        return _plain(404, "Only the smart-HTTP upload-pack service is served.")
    user: User | AnonymousUser = request.user
    if not user.is_authenticated:
        try:
            user = _basic_auth_user(request) or AnonymousUser()
        except PasswordRefused as exc:
            return _plain(429, str(exc))
    if not user.is_authenticated and not settings.PAVED_GIT_HTTP_ANONYMOUS:
        return _challenge()
    host = LocalGitHost()
    try:
        git_dir = repo_dir(owner, name)
    except PermanentProviderError:
        return _plain(404, "No such repository.")
    repo = host.get_repository(owner, name)
    if repo is None or not host._is_managed(git_dir):
        return _challenge() if not user.is_authenticated else _plain(404, "No such repository.")
    private = host.is_private(repo)
    if not user.is_authenticated:
        if private:
            # Anonymous cloning (PAVED_GIT_HTTP_ANONYMOUS) never covers private repositories.
            return _challenge()
    elif not can_read(user, repo, private=private, team=host.team_of(repo)):
        # Another team's private repository is "not found", as on the browse pages.
        return _plain(404, "No such repository.")

    env = git_env(
        GIT_PROJECT_ROOT=str(settings.PAVED_GIT_LOCAL_ROOT),
        GIT_HTTP_EXPORT_ALL="1",
        PATH_INFO=f"/{owner}/{name}.git/{rest}",
        QUERY_STRING=request.META.get("QUERY_STRING", ""),
        REQUEST_METHOD=request.method or "GET",
        CONTENT_TYPE=request.META.get("CONTENT_TYPE", ""),
        REMOTE_ADDR=request.META.get("REMOTE_ADDR", ""),
        REMOTE_USER=user.get_username() if user.is_authenticated else "",
        GATEWAY_INTERFACE="CGI/1.1",
    )
    if "HTTP_CONTENT_ENCODING" in request.META:
        env["HTTP_CONTENT_ENCODING"] = request.META["HTTP_CONTENT_ENCODING"]
    if "HTTP_GIT_PROTOCOL" in request.META:
        env["GIT_PROTOCOL"] = request.META["HTTP_GIT_PROTOCOL"]
    body = request.body if request.method == "POST" else b""
    env["CONTENT_LENGTH"] = str(len(body))
    try:
        proc = subprocess.run(
            ["git", "http-backend"],
            input=body,
            env=env,
            capture_output=True,
            timeout=BACKEND_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return _plain(504, "git http-backend timed out.")
    return _cgi_response(proc.stdout)


def _cgi_response(output: bytes) -> HttpResponse:
    """Split a CGI answer into headers and body."""
    head, sep, body = output.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = output.partition(b"\n\n")
    status = 200
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines():
        key, _, value = line.partition(":")
        if key.lower() == "status":
            status = int(value.strip().split()[0])
        elif key:
            headers[key.strip()] = value.strip()
    response = HttpResponse(body, status=status, content_type=headers.pop("Content-Type", None))
    for key, value in headers.items():
        response[key] = value
    return response
