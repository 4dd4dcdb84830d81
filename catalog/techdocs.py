"""Docs tab: Markdown from the entity's repository `docs/` folder (backstage.io/techdocs-ref),
read through the same readers as ingestion and rendered sanitised with a table of contents.

A page from a `url:` ref is fetched from outside, so the result (page or error) is kept in the
cache for PAVED_TECHDOCS_CACHE_SECONDS: viewing the tab does not fetch on every view."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from catalog.ingestion import FILE, URL, ReadError, Target, read_target
from catalog.models import Entity
from portal.annotations import TECHDOCS_REF as TECHDOCS_REF
from portal.lib.markdown import RenderedMarkdown, render_markdown

logger = logging.getLogger(__name__)
_PAGE = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*\.md")


@dataclass(frozen=True)
class DocsPage:
    page: str
    rendered: RenderedMarkdown | None
    error: str = ""


def has_docs(entity: Entity) -> bool:
    return bool(entity.annotations.get(TECHDOCS_REF))


def _base(entity: Entity) -> Target:
    ref = entity.annotations.get(TECHDOCS_REF, "")
    kind, _, value = ref.partition(":")
    if kind == "url" and value:
        return Target("url", value.rstrip("/") + "/").resolve("docs/index.md")
    if kind != "dir":
        raise ReadError(f"unsupported {TECHDOCS_REF} {ref!r} (use dir:. or url:...)")
    type_, _, source = entity.source.partition(":")
    if not source:
        raise ReadError("this entity was not read from a location, so its docs cannot be found")
    catalog_file = Target(type_, source)
    directory = value.strip() or "."
    # A target inside the docs folder, so relative page names resolve against it.
    return catalog_file.resolve(f"{directory.rstrip('/')}/docs/index.md")


def _read_text(target: Target) -> str:
    if target.type != URL:
        return read_target(target).decode("utf-8", errors="replace")
    key = "techdocs:url:" + hashlib.sha256(target.target.encode()).hexdigest()
    cached = cache.get(key)
    if cached is None:
        try:
            cached = (True, read_target(target).decode("utf-8", errors="replace"))
        except ReadError as exc:
            # Failures are kept too: a refused or dead URL is not tried again on every view.
            cached = (False, str(exc))
        cache.set(key, cached, int(getattr(settings, "PAVED_TECHDOCS_CACHE_SECONDS", 300)))
    ok, text = cached
    if not ok:
        raise ReadError(text)
    return str(text)


def docs_page(entity: Entity, page: str = "index.md") -> DocsPage:
    if not _PAGE.fullmatch(page) or ".." in page:
        return DocsPage(page, None, f"{page!r} is not a docs page name")
    target: Target | None = None
    try:
        base = _base(entity)
        target = base.resolve(page) if page != "index.md" else base
        text = _read_text(target)
    except ReadError as exc:
        missing = str(exc).startswith("file ") and str(exc).endswith("does not exist")
        if missing or (str(exc).startswith("repository ") and " has no " in str(exc)):
            logger.info("docs of %s, page %s: %s", entity.ref, page, exc)
            return DocsPage(
                page,
                None,
                f"this component has no {page} in its docs folder yet. Its owners can add "
                f"docs/{page} to the repository.",
            )
        if target is not None and target.type == FILE:
            # A local file's error names a path on the server: logged, not shown.
            logger.warning("docs of %s, page %s: %s", entity.ref, page, exc)
            return DocsPage(page, None, "they could not be read from the repository just now.")
        return DocsPage(page, None, str(exc))
    return DocsPage(page, render_markdown(text))
