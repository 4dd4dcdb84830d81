"""Browse Paved's local repositories: list, file tree + README of the default branch, a file,
and pull requests (list, the change as files and patch, merge or close for the owning team)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from portal import audit
from portal.htmx import render_page
from portal.lib.markdown import render_markdown
from portal.providers.base import PermanentProviderError, ProviderError, RepoRef
from portal.providers.local_git.access import can_merge, can_read, merge_denied_reason
from portal.providers.local_git.provider import LocalGitHost

README_NAMES = ("README.md", "readme.md", "README.markdown", "README", "README.txt")
MAX_SHOWN_BYTES = 512 * 1024


def _repo_or_404(request: HttpRequest, host: LocalGitHost, owner: str, name: str) -> RepoRef:
    """The repository, if it exists and this person may read it; a private repository of
    another team is "not found", like one that does not exist."""
    try:
        repo = host.get_repository(owner, name)
    except PermanentProviderError:
        repo = None
    if repo is None or not readable(request, host, repo):
        raise Http404("No such repository")
    return repo


def _pull_the_team_may_decide(
    request: HttpRequest, host: LocalGitHost, owner: str, name: str, number: int
) -> RepoRef:
    """The repository of pull request `number`, when this person may merge or close it (404 if
    they may not read it or it does not exist, 403 with the reason if they may only read it)."""
    repo = _repo_or_404(request, host, owner, name)
    if host.get_pull_request(repo, number) is None:
        raise Http404("No such pull request")
    if not can_merge(request.user, repo, host.team_of(repo)):
        raise PermissionDenied(merge_denied_reason(repo))
    return repo


def readable(request: HttpRequest, host: LocalGitHost, repo: RepoRef) -> bool:
    return can_read(request.user, repo, private=host.is_private(repo), team=host.team_of(repo))


@require_GET
def repo_list(request: HttpRequest) -> HttpResponse:
    host = LocalGitHost()
    repos = [repo for repo in host.list_repositories() if readable(request, host, repo)]
    return render_page(request, "git/repo_list.html", {"repos": repos})


@require_GET
def repo_detail(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    host = LocalGitHost()
    repo = _repo_or_404(request, host, owner, name)
    files = host.list_files(repo)
    readme_html = ""
    readme_text = ""
    for candidate in README_NAMES:
        if candidate in files:
            raw = host.read_file(repo, candidate) or b""
            text = raw[:MAX_SHOWN_BYTES].decode("utf-8", errors="replace")
            if candidate.lower().endswith((".md", ".markdown")):
                readme_html = render_markdown(text).html
            else:
                readme_text = text
            break
    rows = [
        {
            "path": path,
            "depth": path.count("/"),
            "base": path.rsplit("/", 1)[-1],
            "dir": path.rsplit("/", 1)[0] if "/" in path else "",
        }
        for path in files
    ]
    return render_page(
        request,
        "git/repo_detail.html",
        {
            "repo": repo,
            "files": rows,
            "commits": host.commit_count(repo),
            "open_pulls": sum(1 for p in host.list_pull_requests(repo) if p.is_open),
            "readme_html": readme_html,
            "readme_text": readme_text,
        },
    )


@require_GET
def blob(request: HttpRequest, owner: str, name: str, path: str) -> HttpResponse:
    host = LocalGitHost()
    repo = _repo_or_404(request, host, owner, name)
    try:
        content = host.read_file(repo, path)
    except PermanentProviderError:
        content = None
    if content is None:
        raise Http404("No such file")
    binary = b"\0" in content[:8000]
    text = "" if binary else content[:MAX_SHOWN_BYTES].decode("utf-8", errors="replace")
    return render_page(
        request,
        "git/blob.html",
        {
            "repo": repo,
            "path": path,
            "text": text,
            "binary": binary,
            "size": len(content),
            "truncated": len(content) > MAX_SHOWN_BYTES,
        },
    )


@require_GET
def pull_list(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    host = LocalGitHost()
    repo = _repo_or_404(request, host, owner, name)
    return render_page(
        request, "git/pull_list.html", {"repo": repo, "pulls": host.list_pull_requests(repo)}
    )


@require_GET
def pull_detail(request: HttpRequest, owner: str, name: str, number: int) -> HttpResponse:
    host = LocalGitHost()
    repo = _repo_or_404(request, host, owner, name)
    pull = host.get_pull_request(repo, number)
    if pull is None:
        raise Http404("No such pull request")
    files, patch, truncated = host.pull_request_changes(repo, pull)
    return render_page(
        request,
        "git/pull_detail.html",
        {
            "repo": repo,
            "pull": pull,
            "body_html": render_markdown(pull.body).html if pull.body else "",
            "files": files,
            "patch": patch,
            "truncated": truncated,
            "can_merge": pull.is_open and can_merge(request.user, repo, host.team_of(repo)),
        },
    )


@require_POST
def pull_merge(request: HttpRequest, owner: str, name: str, number: int) -> HttpResponse:
    host = LocalGitHost()
    repo = _pull_the_team_may_decide(request, host, owner, name, number)
    try:
        pull = host.merge_pull_request(repo, number, merged_by=request.user.get_username())
    except ProviderError as exc:
        messages.error(request, exc.message)
    else:
        audit.record(
            actor=request.user,
            action="pull_request.merged",
            target_type="git.pull_request",
            target_id=f"{repo.full_name}#{number}",
            target_label=f"{repo.full_name}#{number}: {pull.title}",
            summary=f"{pull.head} into {pull.base}",
            before={"state": "open", "base": pull.base_sha},
            after={"state": pull.state, "merge_commit": pull.merge_commit},
        )
        messages.success(request, f"Merged pull request #{number} into {pull.base}.")
    return redirect("git:pull", owner=repo.owner, name=repo.name, number=number)


@require_POST
def pull_close(request: HttpRequest, owner: str, name: str, number: int) -> HttpResponse:
    """Close without merging: the team declines the change; the branch stays."""
    host = LocalGitHost()
    repo = _pull_the_team_may_decide(request, host, owner, name, number)
    try:
        pull = host.close_pull_request(repo, number, closed_by=request.user.get_username())
    except ProviderError as exc:
        messages.error(request, exc.message)
    else:
        audit.record(
            actor=request.user,
            action="pull_request.closed",
            target_type="git.pull_request",
            target_id=f"{repo.full_name}#{number}",
            target_label=f"{repo.full_name}#{number}: {pull.title}",
            summary=f"{pull.head} into {pull.base}, not merged",
            before={"state": "open"},
            after={"state": pull.state},
        )
        messages.success(request, f"Closed pull request #{number} without merging.")
    return redirect("git:pull", owner=repo.owner, name=repo.name, number=number)
