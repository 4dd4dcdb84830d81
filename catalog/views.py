"""Catalog pages: list/search, entity (tabs), register an existing component."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods

from catalog.apidocs import summarize_openapi
from catalog.graph import build_graph, entity_url
from catalog.models import Entity, make_ref
from catalog.observability import component_links
from catalog.queries import (
    SORTS,
    ListFilters,
    attach_owner_names,
    entities_for_list,
    entity_by_name,
    facets,
    kind_tabs,
    relations_of,
)
from catalog.services import (
    LocationRefused,
    parse_location_input,
    preview_location,
    register_and_refresh,
    registration_refusal,
)
from catalog.tabs import extra_tabs_for
from catalog.techdocs import docs_page, has_docs
from catalog.validation import (
    RefError,
    is_valid_kind,
    is_valid_namespace,
    is_valid_object_name,
    parse_ref,
)
from portal.annotations import ENVIRONMENT, HOST, ON_CALL, OPSGENIE_TEAM, PAGERDUTY_SERVICE_ID
from portal.htmx import render_page

PAGE_SIZE = 25
CORE_TABS = [
    ("overview", "Overview"),
    ("relations", "Relations"),
    ("api", "API definition"),
    ("docs", "Docs"),
    ("errors", "Processing errors"),
]


@require_GET
def entity_list(request: HttpRequest) -> HttpResponse:
    filters = ListFilters.from_query(request.GET)
    page = Paginator(entities_for_list(request.user, filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    attach_owner_names(list(page.object_list))
    return render_page(
        request,
        "catalog/entity_list.html",
        {
            "page": page,
            "filters": filters,
            "kind_tabs": kind_tabs(filters.kind.lower()),
            "facets": facets(),
            "sorts": list(SORTS),
            "nav_section": "catalog",
        },
        partial="results",
    )


def _get_entity(namespace: str, kind: str, name: str) -> Entity:
    entity = entity_by_name(kind, namespace, name)
    if entity is None:
        raise Http404(f"No entity {kind}:{namespace}/{name} in the catalog")
    return entity


def _group(relations: list[Any]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for rel in relations:
        grouped[rel.type].append(rel)
    return dict(grouped)


def _operations_summary(entity: Entity) -> list[tuple[str, str]]:
    """Who answers the pager and where the service lives, from the annotations the golden
    path writes (shown in About, so nobody has to read the raw annotations)."""
    annotations = (entity.metadata or {}).get("annotations") or {}
    rows: list[tuple[str, str]] = []
    if annotations.get(PAGERDUTY_SERVICE_ID):
        rows.append(("On call", f"PagerDuty service {annotations[PAGERDUTY_SERVICE_ID]}"))
    elif annotations.get(OPSGENIE_TEAM):
        rows.append(("On call", f"Opsgenie team {annotations[OPSGENIE_TEAM]}"))
    elif annotations.get(ON_CALL):
        rows.append(("On call", str(annotations[ON_CALL])))
    if annotations.get(HOST):
        env = annotations.get(ENVIRONMENT)
        rows.append(("Address", f"{annotations[HOST]}" + (f" ({env})" if env else "")))
    return rows


@require_GET
def entity_detail(request: HttpRequest, namespace: str, kind: str, name: str) -> HttpResponse:
    entity = _get_entity(namespace, kind, name)
    tab = request.GET.get("tab", "overview")
    relations = relations_of(entity)
    by_type = _group(relations)
    extra = extra_tabs_for(entity)
    tabs = [
        (key, label)
        for key, label in CORE_TABS
        if (key != "api" or entity.kind == "API")
        and (key != "docs" or has_docs(entity))
        and (
            key != "errors"
            or entity.processing_errors
            or entity.processing_warnings
            or entity.orphaned_at
        )
    ]
    ctx: dict[str, Any] = {
        "entity": entity,
        "relations": relations,
        "by_type": by_type,
        "owner": (by_type.get("ownedBy") or [None])[0],
        "system": next(
            (r for r in by_type.get("partOf", []) if r.target_ref.startswith("system:")), None
        ),
        "tab": tab,
        "nav_section": "catalog",
        "self_url": entity_url(entity.ref),
        "operations": _operations_summary(entity),
    }
    extra_tab = next((t for t in extra if t.key == tab), None)
    visible_extra = []
    for t in extra:
        tab_ctx = t.context(entity, request.user) if t.key == tab else {}
        if tab_ctx is not None:
            visible_extra.append(t)
            if t.key == tab:
                ctx.update(tab_ctx, extra_template=t.template)
    ctx["tabs"] = tabs + [(t.key, t.label) for t in visible_extra]
    if tab not in {key for key, _ in ctx["tabs"]}:
        tab = ctx["tab"] = "overview"
    if tab == "relations":
        ctx["graph"] = build_graph(entity, relations)
    elif tab == "api":
        definition = entity.spec.get("definition")
        ctx["definition"] = definition if isinstance(definition, str) else ""
        if entity.spec_type == "openapi" and ctx["definition"]:
            ctx["openapi"] = summarize_openapi(ctx["definition"])
    elif tab == "docs":
        ctx["docs"] = docs_page(entity, request.GET.get("page", "index.md"))
    elif tab == "overview" and entity.kind == "Component":
        links = component_links(entity)
        ctx["observability_links"] = [link for link in links if link.available]
        ctx["observability_missing"] = [link for link in links if not link.available]
    elif extra_tab is None and entity.kind in ("Group", "User"):
        ctx["people"] = True
    template = "catalog/entity_detail.html"
    return render_page(request, template, ctx, partial="tab-body")


@require_GET
def entity_by_ref(request: HttpRequest) -> HttpResponse:
    """`?ref=kind:ns/name` → the entity page (used where only a ref string is at hand)."""
    raw = request.GET.get("ref", "")
    try:
        parsed = parse_ref(raw.strip())
    except RefError:
        parsed = None
    # Each part must be a real catalog name: the redirect then always stays on this site.
    if parsed is None or not (
        is_valid_kind(parsed.kind)
        and is_valid_namespace(parsed.namespace.lower())
        and is_valid_object_name(parsed.name)
    ):
        ctx = {"nav_section": "catalog", "ref": raw[:200]}
        return render_page(request, "catalog/bad_ref.html", ctx, status=400)
    return redirect(entity_url(make_ref(parsed.kind, parsed.namespace, parsed.name)))


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """Register existing component: paste a URL, preview what will be imported, confirm."""
    ctx: dict[str, Any] = {"nav_section": "catalog", "value": "", "error": ""}
    if request.method == "GET":
        return render_page(request, "catalog/register.html", ctx)
    value = request.POST.get("location", "").strip()
    ctx["value"] = value
    try:
        target = parse_location_input(value)
        refusal = registration_refusal(target=target, actor=request.user)  # type: ignore[arg-type]
        if refusal:
            raise ValueError(refusal)
    except ValueError as exc:
        ctx["error"] = str(exc)
        return render_page(request, "catalog/register.html", ctx, partial="form", status=422)
    if request.POST.get("action") != "confirm":
        preview = preview_location(target=target, actor=request.user)  # type: ignore[arg-type]
        if preview.refused:
            ctx["error"] = preview.refused[0]
            return render_page(request, "catalog/register.html", ctx, partial="form", status=422)
        ctx["target"], ctx["preview"] = target, preview
        status = 422 if preview.errors and not preview.entities else 200
        return render_page(request, "catalog/register.html", ctx, partial="form", status=status)
    actor = request.user if request.user.is_authenticated else None
    try:
        location, result = register_and_refresh(target=target, actor=actor)
    except LocationRefused as exc:
        ctx["error"] = str(exc)
        return render_page(request, "catalog/register.html", ctx, partial="form", status=422)
    messages.success(
        request,
        f"Registered {location}: {result.added} added, {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.invalid} with errors.",
    )
    first = location.entities.exclude(kind="Location").order_by("kind", "name").first()
    url = entity_url(first.ref) if first else "catalog:entity-list"
    if request.htmx:  # type: ignore[attr-defined]
        from django.shortcuts import resolve_url
        from django_htmx.http import HttpResponseClientRedirect

        return HttpResponseClientRedirect(resolve_url(url))
    return redirect(url)
