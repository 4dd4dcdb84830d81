"""Paved's documentation pages in global search: a title hit first, then a body hit with context."""

from __future__ import annotations

import re

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.urls import reverse

from portal.search.registry import SearchHit, register_search

SNIPPET_CHARS = 70
_MARKUP = re.compile(r"[`*#|>\[\]]+|\(\S+?\.md[^)]*\)")
_TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]*-{3,}[\s:|-]*$", re.M)  # | --- | --- |
_FENCE = re.compile(r"^```.*$", re.M)


def _plain(text: str) -> str:
    text = _FENCE.sub("", _TABLE_RULE.sub("", text))
    return re.sub(r"\s+", " ", _MARKUP.sub(" ", text)).strip()


def _snippet(body: str, query: str) -> str:
    lowered = body.lower()
    at = lowered.find(query.lower())
    start = max(0, at - SNIPPET_CHARS)
    end = min(len(body), at + len(query) + SNIPPET_CHARS)
    return ("…" if start else "") + body[start:end].strip() + ("…" if end < len(body) else "")


def search_docs(query: str, user: AbstractBaseUser | AnonymousUser, limit: int) -> list[SearchHit]:
    from portal.docs.views import DOCS_DIR

    needle = query.lower()
    title_hits: list[SearchHit] = []
    body_hits: list[SearchHit] = []
    for path in sorted(DOCS_DIR.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        lines = text.lstrip().splitlines()
        title = lines[0].lstrip("# ").strip() if lines else path.stem
        body = _plain("\n".join(lines[1:]))
        url = reverse("docs:page", args=[path.stem])
        if needle in title.lower():
            title_hits.append(SearchHit("doc", title, url, summary=body[: 2 * SNIPPET_CHARS]))
        elif needle in body.lower():
            body_hits.append(SearchHit("doc", title, url, summary=_snippet(body, query)))
    return (title_hits + body_hits)[:limit]


def register() -> None:
    register_search("docs", "Documentation", search_docs, order=900)
