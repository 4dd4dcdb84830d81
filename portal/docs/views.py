"""Paved's own documentation (the repository's docs/ folder), rendered in the portal."""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from portal.htmx import render_page
from portal.lib.markdown import render_markdown

DOCS_DIR = settings.BASE_DIR / "docs"


# The sidebar in reading order: a newcomer starts at the top; pages not named here follow.
READING_ORDER = (
    "getting-started", "scaffolder", "upgrades", "catalog", "infrastructure", "runs", "metrics",
    "scorecards", "on-call", "security", "architecture", "providers", "configuration",
    "operations", "api",
)  # fmt: skip


def _doc_titles() -> list[tuple[str, str]]:
    pages = []
    for path in DOCS_DIR.glob("*.md"):
        first = path.read_text(encoding="utf-8").lstrip().splitlines()[:1]
        title = first[0].lstrip("# ").strip() if first else path.stem
        pages.append((path.stem, title))
    rank = {slug: index for index, slug in enumerate(READING_ORDER)}
    return sorted(pages, key=lambda page: (rank.get(page[0], len(rank)), page[1].lower()))


def doc_link(href: str) -> str | None:
    """A link between the Markdown files (`runs.md#leases`) points at the portal's page for
    it; a relative link to a file the portal does not serve is removed (text stays)."""
    parsed = urlsplit(href)
    if parsed.scheme or parsed.netloc or not parsed.path:
        return href  # absolute URLs and in-page anchors stay as they are
    name = PurePosixPath(parsed.path).name
    if not name.endswith(".md"):
        return href if parsed.path.startswith("/") else None
    slug = name.removesuffix(".md")
    if not (DOCS_DIR / name).is_file() or "/" in parsed.path.strip("./"):
        return None
    url = reverse("docs:page", args=[slug])
    return f"{url}#{parsed.fragment}" if parsed.fragment else url


@require_GET
def doc_page(request: HttpRequest, slug: str) -> HttpResponse:
    pages = _doc_titles()
    path = DOCS_DIR / f"{slug}.md"
    if slug == "index" and not path.exists():
        # The docs' front page: the getting-started guide, else the first page there is.
        fallback = DOCS_DIR / "getting-started.md"
        path = (
            fallback if fallback.exists() else DOCS_DIR / f"{pages[0][0] if pages else 'index'}.md"
        )
    if not path.is_file() or path.parent != DOCS_DIR:
        raise Http404("No such documentation page")
    rendered = render_markdown(path.read_text(encoding="utf-8"), resolve_link=doc_link)
    return render_page(
        request,
        "portal/doc_page.html",
        {"pages": pages, "slug": path.stem, "html": rendered.html, "toc": rendered.toc},
    )
