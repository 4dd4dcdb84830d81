"""The wizard's form, generated from a template's JSON Schema pages.

`page_fields_view` turns one page into renderable fields (widget, attributes, choices, current
value, errors); `parse_page` turns submitted form data back into typed values. Validation itself
lives in scaffolder.parameters, shared with the run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from django.conf import settings
from django.http import QueryDict
from django.urls import reverse

from portal.lib.sealing import SealBroken, seal, unseal
from scaffolder.parameters import (
    ENTITY_PICKERS,
    MULTI_ENTITY_PICKERS,
    SECRET_FIELDS,
    is_secret_property,
    option_key,
    option_title,
    picker_filter,
    reshaping_fields,
    selected_option,
    shown_schema,
)


@dataclass
class FieldView:
    name: str
    label: str
    widget: (
        str  # text, textarea, number, checkbox, select, multiselect, list, repo-url, entity, json
    )
    value: Any = None
    required: bool = False
    help: str = ""
    description: str = ""
    choices: list[tuple[str, str]] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    repo: dict[str, str] = field(default_factory=dict)
    hosts: list[str] = field(default_factory=list)
    autofocus: bool = False
    masked: bool = False
    search_url: str = ""  # entity pickers: the autocomplete endpoint with this field's filter
    shown: str = ""  # how the review names a picked entity (its display name)
    reshapes: bool = False  # changing it changes which fields the page shows: redraw the page

    @property
    def display_value(self) -> str:
        if self.masked:
            return "***"
        if self.shown:
            return self.shown
        if self.widget == "repo-url" and self.repo.get("repo"):
            # People read "owner/name on host", not Backstage's host?owner=...&repo=... form.
            return f"{self.repo['owner']}/{self.repo['repo']} on {self.repo['host']}"
        if isinstance(self.value, list | dict):
            return json.dumps(self.value)
        if isinstance(self.value, bool):
            return "yes" if self.value else "no"
        if self.widget == "select":
            labels = dict(self.choices)
            return labels.get(str(self.value), "" if self.value is None else str(self.value))
        return "" if self.value is None else str(self.value)

    @property
    def list_text(self) -> str:
        return "\n".join(str(v) for v in self.value) if isinstance(self.value, list) else ""

    @property
    def selected(self) -> list[str]:
        if isinstance(self.value, list):
            return [str(v) for v in self.value]
        return [] if self.value is None else [str(self.value)]


def visible_properties(page: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The fields the page shows for the current values (scaffolder.parameters.shown_schema:
    `dependencies`, `if/then/else`, `allOf` and the selected `oneOf`/`anyOf` branch)."""
    return dict(shown_schema(page, values)[0])


def option_selectors(page: dict[str, Any], values: dict[str, Any]) -> list[FieldView]:
    """react-jsonschema-form's selector for a page-level `oneOf`/`anyOf`: choosing a branch
    shows its fields (the choice is kept in the wizard's state, never passed to the run)."""
    views = []
    for word in ("oneOf", "anyOf"):
        options = page.get(word) or []
        if not options:
            continue
        views.append(
            FieldView(
                name=option_key(page, word),
                label=str(page.get("ui:optionsTitle") or "Choose one"),
                widget="select",
                value=str(selected_option(page, word, values)),
                required=True,
                choices=[(str(i), option_title(o, i)) for i, o in enumerate(options)],
                reshapes=True,
            )
        )
    return views


def default_git_host() -> str:
    if getattr(settings, "PAVED_GIT_PROVIDER", "local") == "github":
        return "github.com"
    return urlparse(settings.PAVED_BASE_URL).hostname or "localhost"


def entity_search_url(name: str, prop: dict[str, Any], *, param: str | None = None) -> str:
    """The autocomplete URL for an entity picker: the filter travels with it, so the wizard and
    the template editor (whose template is not saved) use the same endpoint. `param` is the
    name of the input whose text is searched."""
    query = urlencode(
        {"param": param or name, "filter": json.dumps(picker_filter(prop), sort_keys=True)}
    )
    return f"{reverse('scaffolder:entity-search')}?{query}"


def field_view(name: str, prop: dict[str, Any], value: Any, *, required: bool) -> FieldView:
    ui_field = prop.get("ui:field", "")
    ui_widget = prop.get("ui:widget", "")
    options = prop.get("ui:options") or {}
    view = FieldView(
        name=name,
        label=str(prop.get("title") or name),
        widget="text",
        value=value,
        required=required,
        help=str(prop.get("ui:help") or ""),
        description=str(prop.get("description") or ""),
        autofocus=bool(prop.get("ui:autofocus")),
        masked=is_secret_property(prop),
    )
    kind = prop.get("type")
    if ui_field == "RepoUrlPicker":
        view.widget = "repo-url"
        view.hosts = [str(h) for h in options.get("allowedHosts") or []] or [default_git_host()]
        parsed = {"host": view.hosts[0], "owner": "", "repo": ""}
        if isinstance(value, str) and value:
            host, _, query = value.partition("?")
            params = {k: v[0] for k, v in parse_qs(query).items()}
            parsed = {
                "host": host,
                "owner": params.get("owner", ""),
                "repo": params.get("repo", ""),
            }
        view.repo = parsed
    elif ui_field in ENTITY_PICKERS:
        view.widget = "entity"
        view.search_url = entity_search_url(name, prop)
    elif ui_field in MULTI_ENTITY_PICKERS:
        view.widget = "entity-multi"
        view.search_url = entity_search_url(name, prop, param=f"{name}__search")
    elif "enum" in prop:
        view.widget = "select"
        names = prop.get("enumNames") or prop["enum"]
        view.choices = [(str(v), str(n)) for v, n in zip(prop["enum"], names, strict=False)]
    elif kind == "boolean":
        view.widget = "checkbox"
    elif kind in ("integer", "number"):
        view.widget = "number"
        view.attrs = {k: prop[k] for k in ("minimum", "maximum") if k in prop}
        view.attrs["step"] = 1 if kind == "integer" else "any"
    elif kind == "array":
        items = prop.get("items") or {}
        if isinstance(items, dict) and "enum" in items:
            view.widget = "multiselect"
            view.choices = [(str(v), str(v)) for v in items["enum"]]
        else:
            view.widget = "list"
    elif kind == "object":
        view.widget = "json"
    elif ui_widget == "textarea" or options.get("rows"):
        view.widget = "textarea"
    if view.widget == "text":
        view.attrs = {k: prop[k] for k in ("pattern", "minLength", "maxLength") if k in prop}
        if ui_widget == "password" or ui_field in SECRET_FIELDS:
            view.widget = "password"
    return view


def page_fields_view(
    page: dict[str, Any], values: dict[str, Any], errors: dict[str, list[str]] | None = None
) -> list[FieldView]:
    props, required = shown_schema(page, values)
    views = option_selectors(page, values)
    reshaping = reshaping_fields(page)
    for name, prop in props.items():
        if not isinstance(prop, dict) or prop.get("ui:widget") == "hidden":
            continue
        view = field_view(
            name, prop, values.get(name, prop.get("default")), required=name in required
        )
        view.errors = list((errors or {}).get(name, []))
        view.reshapes = name in reshaping
        if view.widget == "repo-url" and not (view.repo["owner"] or view.repo["repo"]):
            view.repo.update(_suggested_repo(prop, values))
        views.append(view)
    return views


def _suggested_repo(prop: dict[str, Any], values: dict[str, Any]) -> dict[str, str]:
    """An empty repository field starts as <owning team>/<service name> from the answers so far
    (the common case: one less thing to type); the person can change both."""
    options = prop.get("ui:options") or {}
    suggestion: dict[str, str] = {}
    owner = values.get("owner")
    if isinstance(owner, str) and owner:
        team = owner.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        allowed = options.get("allowedOwners") or options.get("allowedOrganizations") or []
        if not allowed or team in allowed:
            suggestion["owner"] = team
    name = values.get("name") or values.get("component_id")
    if isinstance(name, str) and name:
        suggestion["repo"] = name
    return suggestion


def parse_value(prop: dict[str, Any], name: str, data: QueryDict) -> tuple[bool, Any]:
    """(present, value) for one property from submitted form data."""
    if prop.get("ui:field") == "RepoUrlPicker":
        host = data.get(f"{name}__host", "").strip()
        owner = data.get(f"{name}__owner", "").strip()
        repo = data.get(f"{name}__repo", "").strip()
        if not (owner or repo) and name in data:
            return True, data.get(name, "").strip() or None
        if not (host or owner or repo):
            return False, None
        return True, f"{host}?{urlencode({'owner': owner, 'repo': repo})}"
    kind = prop.get("type")
    if kind == "boolean":
        if f"{name}__present" not in data and name not in data:
            return False, None
        return True, data.get(name) in ("on", "true", "1", "yes")
    if kind == "array":
        items = prop.get("items") or {}
        if isinstance(items, dict) and "enum" in items:
            if f"{name}__present" not in data and name not in data:
                return False, None
            return True, data.getlist(name)
        if name not in data:
            return False, None
        return True, [line.strip() for line in data.get(name, "").splitlines() if line.strip()]
    if name not in data:
        return False, None
    raw = data.get(name, "")
    if raw.strip() == "" and is_secret_property(prop):
        return False, None  # a secret is never sent back to the page: empty keeps the saved one
    if raw.strip() == "":
        return True, None
    if kind == "integer":
        try:
            return True, int(raw)
        except ValueError:
            return True, raw
    if kind == "number":
        try:
            return True, float(raw)
        except ValueError:
            return True, raw
    if kind == "object":
        try:
            return True, json.loads(raw)
        except ValueError:
            return True, raw
    return True, raw.strip() if prop.get("ui:widget") != "textarea" else raw


def parse_page(page: dict[str, Any], values: dict[str, Any], data: QueryDict) -> dict[str, Any]:
    """Merge one page's submitted data into `values`; empty inputs remove the value."""
    merged = dict(values)
    for word in ("oneOf", "anyOf"):
        key = option_key(page, word)
        chosen = str(data.get(key, ""))
        if page.get(word) and chosen.isdigit():
            merged[key] = int(chosen)
    for name, prop in visible_properties(page, {**merged, **_raw(data)}).items():
        if not isinstance(prop, dict):
            continue
        present, value = parse_value(prop, name, data)
        if not present:
            continue
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def _raw(data: QueryDict) -> dict[str, Any]:
    return {k: data.get(k) for k in data}


SEALED_KEY = "$sealed"
# A sealed wizard value older than this is dropped (the field asks for it again).
STATE_SECRET_MAX_AGE_SECONDS = 2 * 3600


def encode_state(values: dict[str, Any], secret_names: frozenset[str] = frozenset()) -> str:
    """The wizard's answers so far, carried in a hidden field between pages. Secret answers
    are sealed with the site key, so the page never holds them in clear."""
    shown = {
        name: ({SEALED_KEY: seal(value)} if name in secret_names else value)
        for name, value in values.items()
    }
    return json.dumps(shown, sort_keys=True)


def decode_state(text: str) -> dict[str, Any]:
    try:
        values = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(values, dict):
        return {}
    opened: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, dict) and set(value) == {SEALED_KEY}:
            try:
                opened[name] = unseal(
                    str(value[SEALED_KEY]), max_age_seconds=STATE_SECRET_MAX_AGE_SECONDS
                )
            except SealBroken:
                continue  # tampered or expired: the field is simply empty again
        else:
            opened[name] = value
    return opened
