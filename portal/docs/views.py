"""Paved's own documentation (the repository's docs/ folder), rendered in the portal."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from portal.htmx import render_page
from portal.lib.markdown import render_markdown

DOCS_DIR = settings.BASE_DIR / "docs"


def _doc_titles() -> list[tuple[str, str]]:
    pages = []
    for path in sorted(DOCS_DIR.glob("*.md")):
        first = path.read_text(encoding="utf-8").lstrip().splitlines()[:1]
        title = first[0].lstrip("# ").strip() if first else path.stem
        pages.append((path.stem, title))
    return pages


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
    rendered = render_markdown(path.read_text(encoding="utf-8"))
    return render_page(
        request,
        "portal/doc_page.html",
        {"pages": pages, "slug": path.stem, "html": rendered.html, "toc": rendered.toc},
    )
