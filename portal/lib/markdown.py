"""Markdown to sanitised HTML with a table of contents (docs pages, TechDocs, runbooks)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import markdown
import nh3

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre",
    "s", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead", "tr",
    "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "*": {"id", "class"},
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
}


@dataclass(frozen=True)
class RenderedMarkdown:
    html: str
    toc: list[dict[str, object]]


_SCROLLABLE = re.compile(r"<(pre|table)(?=[\s>])")


def render_markdown(
    text: str, *, resolve_link: Callable[[str], str | None] | None = None
) -> RenderedMarkdown:
    """Render untrusted Markdown; scripts, event handlers and javascript: links are removed.
    `resolve_link` rewrites each link (e.g. `runs.md#x` -> the portal's page for it); None
    removes it."""
    md = markdown.Markdown(
        extensions=["toc", "tables", "fenced_code", "sane_lists"],
        extension_configs={"toc": {"permalink": False, "toc_depth": "2-3"}},
    )
    raw_html = md.convert(text)
    html = nh3.clean(
        raw_html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        attribute_filter=_link_filter(resolve_link) if resolve_link is not None else None,
    )
    # Wide tables and code blocks scroll inside their box: keyboard users must reach them too.
    html = _SCROLLABLE.sub(r'<\1 tabindex="0"', html)
    toc = getattr(md, "toc_tokens", [])
    return RenderedMarkdown(html=html, toc=list(toc))


def _link_filter(
    resolve_link: Callable[[str], str | None],
) -> Callable[[str, str, str], str | None]:
    def rewrite(tag: str, attribute: str, value: str) -> str | None:
        if tag == "a" and attribute == "href":
            return resolve_link(value)
        return value

    return rewrite
