"""Browse Paved's local repositories: list, file tree + README of the default branch, a file."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from portal.htmx import render_page
from portal.lib.markdown import render_markdown
from portal.providers.base import PermanentProviderError, RepoRef
from portal.providers.local_git.provider import LocalGitHost

README_NAMES = ("README.md", "readme.md", "README.markdown", "README", "README.txt")
MAX_SHOWN_BYTES = 512 * 1024


def _repo_or_404(host: LocalGitHost, owner: str, name: str) -> RepoRef:
    try:
        repo = host.get_repository(owner, name)
    except PermanentProviderError:
        repo = None
    if repo is None:
        raise Http404("No such repository")
    return repo


@require_GET
def repo_list(request: HttpRequest) -> HttpResponse:
    return render_page(request, "git/repo_list.html", {"repos": LocalGitHost().list_repositories()})


@require_GET
def repo_detail(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    host = LocalGitHost()
    repo = _repo_or_404(host, owner, name)
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
            "readme_html": readme_html,
            "readme_text": readme_text,
        },
    )


@require_GET
def blob(request: HttpRequest, owner: str, name: str, path: str) -> HttpResponse:
    host = LocalGitHost()
    repo = _repo_or_404(host, owner, name)
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
