"""The "Create" pages: template cards, the multi-page wizard, and the template editor."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import AnonymousUser, User
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from catalog.models import Entity
from catalog.names import display_names
from portal.auth.decorators import platform_admin_required
from portal.htmx import is_partial, render_page
from runs.runner import RunStartError, watch_enqueue
from runs.views import QUEUED_MESSAGE
from scaffolder.dry_run import DryRunResult, dry_run
from scaffolder.expressions import ExpressionLimitExceeded, shared_time_limit
from scaffolder.forms import FieldView, decode_state, encode_state, page_fields_view, parse_page
from scaffolder.loader import Template, TemplateInvalid, load_template_text
from scaffolder.models import TemplateVersion
from scaffolder.parameters import (
    CatalogFilter,
    apply_defaults,
    offers_groups,
    page_visible,
    prefill_owners,
    search_entities,
    secret_parameter_names,
    validate_page,
    validate_values,
)
from scaffolder.permissions import can_use_template
from scaffolder.preflight import NAME_FIELDS, name_taken_message
from scaffolder.queries import template_entity, templates_for_list
from scaffolder.run_kind import template_step_specs
from scaffolder.services import start_template_run, template_of, user_context, version_for_entity

MAX_SHOWN_FILE_CHARS = 20_000


def template_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    return render_page(
        request,
        "scaffolder/template_list.html",
        {
            "templates": templates_for_list(query, user=request.user),
            "q": query,
            "nav_section": "scaffolder",
        },
        partial="template-cards",
    )


def _parse_filter(text: str) -> CatalogFilter | None:
    """A picker's catalogFilter as `entity_search_url` encodes it; None when malformed."""
    try:
        data = json.loads(text or "[]")
    except ValueError:
        return None
    if not isinstance(data, list) or len(data) > 10:
        return None
    for clause in data:
        if not isinstance(clause, dict) or len(clause) > 10:
            return None
        for values in clause.values():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values[:50]):
                return None
    return data


@require_GET
def entity_search(request: HttpRequest) -> HttpResponse:
    """Autocomplete for OwnerPicker / EntityPicker / MultiEntityPicker: the options of a
    listbox, at most PICKER_RESULTS, found with one query however large the catalog is."""
    param = request.GET.get("param", "q")[:100]
    filters = _parse_filter(request.GET.get("filter", ""))
    if filters is None:
        return HttpResponseBadRequest("filter must be a JSON list of {key: [values]} objects")
    text = request.GET.get(param, "")[:200]
    entities = search_entities(filters, text, user=request.user)
    return render(
        request,
        "scaffolder/_entity_options.html",
        {
            "entities": entities,
            "prefix": f"id_{param}",
            "text": text,
            "more_by_typing": not text and offers_groups(filters),
        },
    )


class _Unusable(Exception):
    def __init__(self, entity: Entity, problems: list[str]) -> None:
        self.entity = entity
        self.problems = problems


def _load(
    namespace: str, name: str, user: User | AnonymousUser
) -> tuple[Entity, TemplateVersion, Template]:
    entity = template_entity(namespace, name)
    if entity is None or not can_use_template(user, entity):
        raise Http404("No such template")  # limited to other teams: as if it did not exist
    try:
        version = version_for_entity(entity)
        return entity, version, template_of(version)
    except TemplateInvalid as exc:
        raise _Unusable(entity, exc.lines()) from None


def _unusable(request: HttpRequest, exc: _Unusable) -> HttpResponse:
    """An invalid template (e.g. an unknown action) is explained, not run."""
    return render_page(
        request,
        "scaffolder/template_invalid.html",
        {"entity": exc.entity, "problems": exc.problems, "nav_section": "scaffolder"},
        status=422,
    )


def _visible_indexes(template: Template, values: dict[str, Any]) -> list[int]:
    return [i for i, page in enumerate(template.pages) if page_visible(page, values)]


def _step_rows(template: Template) -> list[dict[str, str]]:
    return [
        {"id": spec.key, "name": spec.name, "action": spec.kind,
         "conditional": "yes" if "if" in raw else ""}
        for spec, raw in zip(template_step_specs(template), template.steps, strict=True)
    ]  # fmt: skip


def _review_rows(template: Template, values: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    picked: list[FieldView] = []
    for index in _visible_indexes(template, values):
        page = template.pages[index]
        fields = [f for f in page_fields_view(page, values) if f.name in values]
        rows.append({"title": page.get("title") or f"Page {index + 1}", "fields": fields})
        picked += [f for f in fields if f.widget == "entity" and f.value]
    # Picked entities by their display names, the reference after it (one query).
    names = display_names(str(f.value).lower() for f in picked)
    for f in picked:
        name = names.get(str(f.value).lower())
        if name:
            f.shown = f"{name} ({f.value})"
    return rows


@require_http_methods(["GET", "POST"])
def template_wizard(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    try:
        entity, version, template = _load(namespace, name, request.user)
    except _Unusable as exc:
        return _unusable(request, exc)
    try:
        with shared_time_limit():
            return _wizard(request, entity, version, template)
    except ExpressionLimitExceeded as exc:
        # A page `when` that loops or grows without end: the template is at fault.
        return _unusable(request, _Unusable(entity, [str(exc)]))


@dataclass
class _WizardState:
    """Where a person is in a template's wizard, and what to tell them."""

    values: dict[str, Any]
    indexes: list[int]
    current: int
    stage: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    status: int = 200


def _wizard(
    request: HttpRequest, entity: Entity, version: TemplateVersion, template: Template
) -> HttpResponse:
    state = _wizard_state(request, template)
    action = request.POST.get("action", "")
    if (
        request.method == "POST"
        # "refresh": a field that changes which fields the page shows was changed.
        and action in ("next", "back", "refresh")
        and 0 <= state.current < len(template.pages)
    ):
        _turn_page(request, template, state, action=action)
    elif request.method == "POST" and action == "edit":
        state.current = state.indexes[0] if state.indexes else 0
    elif request.method == "POST" and action == "create":
        try:
            with watch_enqueue() as unsent:
                run = start_template_run(version=version, values=state.values, actor=request.user)  # type: ignore[arg-type]
        except RunStartError as exc:
            state.problems, state.stage, state.status = exc.problems, "review", 422
        else:
            if unsent:
                # The run is saved; only its first message is missing, and recovery sends it.
                messages.warning(request, QUEUED_MESSAGE.format(pk=run.pk))
            url = reverse("runs:run-detail", args=[run.pk])
            return HttpResponseClientRedirect(url) if is_partial(request) else redirect(url)
    elif request.method == "POST" and action == "review":
        _clean, state.errors = validate_values(template.pages, state.values)
        state.stage, state.status = ("page", 422) if state.errors else ("review", 200)
    return render_page(
        request, "scaffolder/template_wizard.html", _wizard_context(entity, version, template, state),
        partial="wizard", status=state.status,
    )  # fmt: skip


def _wizard_state(request: HttpRequest, template: Template) -> _WizardState:
    """The values so far (from the signed state, or defaults on the first GET) and the page."""
    values = decode_state(request.POST.get("state", "")) if request.method == "POST" else {}
    if request.method == "GET":
        values = prefill_owners(
            template.pages, apply_defaults(template.pages, values), request.user
        )
    indexes = _visible_indexes(template, values)
    try:
        current = int(
            request.POST.get("page", request.GET.get("page", indexes[0] if indexes else 0))
        )
    except ValueError:
        current = indexes[0] if indexes else 0
    if template.pages and current not in indexes:
        current = indexes[0] if indexes else 0  # a page that does not exist or is hidden
    return _WizardState(values, indexes, current, "page" if template.pages else "review")


def _turn_page(
    request: HttpRequest, template: Template, state: _WizardState, *, action: str
) -> None:
    """Keep this page's answers; "next" checks them first and may reach the review, "back"
    goes to the previous shown page, "refresh" stays (the page's shown fields changed)."""
    page = template.pages[state.current]
    state.values = apply_defaults(template.pages, parse_page(page, state.values, request.POST))
    state.indexes = _visible_indexes(template, state.values)
    if action == "refresh":
        return
    if action == "back":
        earlier = [i for i in state.indexes if i < state.current]
        state.current = earlier[-1] if earlier else state.current
        return
    state.errors = validate_page(page, state.values)
    if state.errors:
        state.status = 422
        return
    later = [i for i in state.indexes if i > state.current]
    if later:
        state.current = later[0]
    else:
        state.stage = "review"


def _wizard_context(
    entity: Entity, version: TemplateVersion, template: Template, state: _WizardState
) -> dict[str, Any]:
    fields = []
    if state.stage == "page" and template.pages:
        fields = page_fields_view(template.pages[state.current], state.values, state.errors)
    indexes, current = state.indexes, state.current
    position = indexes.index(current) + 1 if current in indexes else 1
    return {
        "entity": entity,
        "template": template,
        "version": version,
        "stage": state.stage,
        "page_index": current,
        "page": template.pages[current] if template.pages else {},
        "position": position,
        "page_count": len(indexes),
        "is_first": position == 1,
        "fields": fields,
        "state": encode_state(state.values, secret_parameter_names(template.pages)),
        "review": _review_rows(template, state.values) if state.stage == "review" else [],
        "steps": _step_rows(template),
        "problems": state.problems,
        "page_errors": state.errors.get("", []),
        "nav_section": "scaffolder",
    }


@require_POST
def template_field_validate(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """Check one field as the user types: 200 with no message, or 422 with the message."""
    try:
        _entity, _version, template = _load(namespace, name, request.user)
    except _Unusable as exc:
        return _unusable(request, exc)
    field_name = request.POST.get("field", "")
    try:
        index = int(request.POST.get("page", "0"))
        if index < 0:  # a negative index would quietly pick a page from the end
            raise IndexError(index)
        page = template.pages[index]
    except (ValueError, IndexError):
        raise Http404("No such page") from None
    values = parse_page(page, decode_state(request.POST.get("state", "")), request.POST)
    errors = validate_page(page, values).get(field_name, [])
    if not errors and field_name in NAME_FIELDS and isinstance(values.get(field_name), str):
        taken = name_taken_message(values[field_name])
        errors = [taken] if taken else []
    # "required" is only reported once the user moves on (Next), not while typing.
    if request.POST.get("trigger") != "submit":
        errors = [e for e in errors if e != "This field is required."]
    return render_page(
        request,
        "scaffolder/template_wizard.html",
        {"field_name": field_name, "field_errors": errors},
        partial="field-errors",
        status=422 if errors else 200,
    )


def _editor_template(text: str) -> Template:
    template = load_template_text(text, source="editor")
    # A template that already exists lends its folder, so its skeleton can be dry-run.
    known = (
        TemplateVersion.objects.filter(ref=template.ref)
        .exclude(base_dir="")
        .order_by("-version")
        .first()
    )
    if known is not None:
        template.base_dir = Path(known.base_dir)
    return template


@platform_admin_required("The template editor is for the platform team.")
@require_http_methods(["GET", "POST"])
def template_editor(request: HttpRequest) -> HttpResponse:
    """Platform team only: paste YAML, fill the form, see a dry-run. Nothing is saved."""
    text = request.POST.get("yaml", "") if request.method == "POST" else ""
    if request.method == "GET" and request.GET.get("template"):
        version = (
            TemplateVersion.objects.filter(ref=request.GET["template"]).order_by("-version").first()
        )
        text = version.yaml_text if version else ""
    problems: list[str] = []
    pages: list[dict[str, Any]] = []
    result: DryRunResult | None = None
    status = 200
    template: Template | None = None
    values: dict[str, Any] = {}
    if text.strip():
        try:
            template = _editor_template(text)
        except TemplateInvalid as exc:
            problems, status = exc.lines(), 422
    if template is not None:
        values = apply_defaults(template.pages, {})
        if request.method == "POST":
            for page in template.pages:
                values = parse_page(page, values, request.POST)
        errors: dict[str, list[str]] = {}
        if request.POST.get("action") == "dry-run":
            _clean, errors = validate_values(template.pages, values)
            with tempfile.TemporaryDirectory(prefix="paved-editor-") as tmp:
                actor = request.user if isinstance(request.user, User) else None
                result = dry_run(template, values, workspace=Path(tmp), user=user_context(actor))
            status = 200 if result.status == "completed" else 422
        pages = [
            {
                "title": page.get("title") or f"Page {i + 1}",
                "fields": page_fields_view(page, values, errors),
            }
            for i, page in enumerate(template.pages)
        ]
    files = []
    if result is not None:
        for path, data in sorted(result.files.items()):
            try:
                content = data.decode("utf-8")
            except UnicodeDecodeError:
                content = f"(binary, {len(data)} bytes)"
            files.append(
                {"path": path, "content": content[:MAX_SHOWN_FILE_CHARS], "size": len(data)}
            )
    context = {
        "yaml": text,
        "problems": problems,
        "pages": pages,
        "result": result,
        "files": files,
        "nav_section": "scaffolder",
    }
    return render_page(
        request, "scaffolder/template_editor.html", context, partial="editor-result", status=status
    )
