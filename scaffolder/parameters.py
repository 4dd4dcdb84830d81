"""Template parameters: JSON Schema pages, validated the same way by the wizard and the run.

`validate_values` is the single rule book: the wizard calls it per field and per page, and
`start_template_run` calls it on everything before a run exists. Pickers add their own checks:
RepoUrlPicker values must parse (and match allowedHosts), OwnerPicker/EntityPicker values must be
entity references (and exist in the catalog unless arbitrary values are allowed).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import jsonschema

from catalog.models import Entity
from scaffolder.expressions import ExpressionError, evaluate, is_truthy, parse_repo_url

ENTITY_PICKERS = {"OwnerPicker", "EntityPicker", "OwnedEntityPicker", "MyGroupsPicker"}


def page_visible(page: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """A page's `when` (Backstage): hidden pages are not shown, validated or submitted."""
    when = page.get("when")
    if when is None or when is True:
        return True
    if when is False:
        return False
    try:
        return is_truthy(evaluate(str(when), {"parameters": dict(values)}, where="page when"))
    except ExpressionError:
        return False


def page_fields(page: Mapping[str, Any]) -> list[str]:
    """Every field a page can show: its properties, plus those `dependencies`, `if/then/else`
    and `allOf` clauses may add."""
    return list(page_properties(page))


SECRET_FIELDS = {"Secret", "SecretInput"}


def page_properties(page: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Every property schema a page can show, by name (see `page_fields`)."""
    found: dict[str, Mapping[str, Any]] = {}

    def add(schema: Any) -> None:
        if isinstance(schema, Mapping):
            for name, prop in (schema.get("properties") or {}).items():
                if isinstance(prop, Mapping):
                    found.setdefault(name, prop)

    add(page)
    for dep in (page.get("dependencies") or {}).values():
        if isinstance(dep, Mapping):
            add(dep)
            for option in dep.get("oneOf") or []:
                add(option)
    for clause in [page, *(page.get("allOf") or [])]:
        if isinstance(clause, Mapping):
            add(clause.get("then"))
            add(clause.get("else"))
    return found


def is_secret_property(prop: Mapping[str, Any]) -> bool:
    """Backstage's `ui:field: Secret`, the common `SecretInput`, a password widget, or a
    field whose review value is masked: typed by a person, never stored or shown in clear."""
    review_mask = ((prop.get("ui:backstage") or {}).get("review") or {}).get("mask")
    return (
        prop.get("ui:field") in SECRET_FIELDS
        or prop.get("ui:widget") == "password"
        or review_mask is not None
    )


def secret_parameter_names(pages: list[dict[str, Any]]) -> frozenset[str]:
    return frozenset(
        name
        for page in pages
        for name, prop in page_properties(page).items()
        if is_secret_property(prop)
    )


def apply_defaults(pages: list[dict[str, Any]], values: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(values)
    for page in pages:
        for name, prop in (page.get("properties") or {}).items():
            if name not in result and isinstance(prop, dict) and "default" in prop:
                result[name] = copy.deepcopy(prop["default"])
    return result


def _schema(page: Mapping[str, Any]) -> dict[str, Any]:
    schema = {k: v for k, v in page.items() if k not in ("title", "description", "when")}
    schema.setdefault("type", "object")
    return schema


def _picker_errors(name: str, prop: Mapping[str, Any], value: Any) -> list[str]:
    field = prop.get("ui:field")
    options = prop.get("ui:options") or {}
    if value in (None, ""):
        return []
    if field == "RepoUrlPicker":
        try:
            parsed = parse_repo_url(value)
        except ValueError as exc:
            return [str(exc)]
        allowed = options.get("allowedHosts") or []
        if allowed and parsed["host"] not in allowed:
            return [f"host {parsed['host']!r} is not allowed here; use one of {', '.join(allowed)}"]
        owners = options.get("allowedOwners") or options.get("allowedOrganizations") or []
        if owners and parsed.get("owner") not in owners:
            return [
                f"owner {parsed.get('owner')!r} is not allowed here; use one of {', '.join(owners)}"
            ]
        return []
    if field in ENTITY_PICKERS and isinstance(value, str):
        kinds = [str(k).lower() for k in options.get("allowedKinds") or []]
        ref = normalise_ref(
            value, kinds[0] if kinds else ("group" if field == "OwnerPicker" else "")
        )
        if ref is None:
            return ["give an entity reference such as group:default/team-orders"]
        if kinds and ref.split(":", 1)[0] not in kinds:
            return [f"must be a {' or '.join(kinds)}, not a {ref.split(':', 1)[0]}"]
        if (
            options.get("allowArbitraryValues") is False
            and not Entity.objects.filter(ref=ref).exists()
        ):
            return [f"{ref} is not in the catalog"]
    return []


def normalise_ref(value: str, default_kind: str) -> str | None:
    text = value.strip().lower()
    if not text:
        return None
    kind, sep, rest = text.partition(":")
    if not sep:
        kind, rest = default_kind, text
    if not kind:
        return None
    namespace, sep, name = rest.partition("/")
    if not sep:
        namespace, name = "default", rest
    if not name:
        return None
    return f"{kind}:{namespace}/{name}"


def validate_page(page: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Errors by field name ("" for errors that belong to no single field)."""
    errors: dict[str, list[str]] = {}
    validator = jsonschema.Draft7Validator(_schema(page), format_checker=jsonschema.FormatChecker())
    page_values = {k: v for k, v in values.items() if k in set(page_fields(page))}
    for error in validator.iter_errors(page_values):
        if error.validator == "required" or error.validator == "dependencies":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            errors.setdefault(missing, []).append("This field is required.")
            continue
        path = [str(p) for p in error.absolute_path]
        field = path[0] if path else ""
        errors.setdefault(field, []).append(_friendly(error))
    for name, prop in (page.get("properties") or {}).items():
        if isinstance(prop, dict):
            for message in _picker_errors(name, prop, values.get(name)):
                errors.setdefault(name, []).append(message)
    return errors


def _friendly(error: jsonschema.ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "pattern":
        return f"Must match the pattern {schema.get('pattern')}."
    if error.validator == "enum":
        return "Choose one of: " + ", ".join(str(v) for v in schema.get("enum", [])) + "."
    if error.validator in ("minLength", "maxLength", "minimum", "maximum"):
        word = {
            "minLength": "at least",
            "maxLength": "at most",
            "minimum": "at least",
            "maximum": "at most",
        }
        unit = " characters" if "Length" in str(error.validator) else ""
        return f"Must be {word[str(error.validator)]} {error.validator_value}{unit}."
    if error.validator == "type":
        return f"Must be a {error.validator_value}."
    return str(error.message)


def visible_pages(pages: list[dict[str, Any]], values: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [page for page in pages if page_visible(page, values)]


def validate_values(
    pages: list[dict[str, Any]], values: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Validate every visible page. Returns (clean values with defaults, errors by field).

    Values of hidden pages are dropped, as Backstage drops them on submit."""
    with_defaults = apply_defaults(visible_pages(pages, values), values)
    shown = visible_pages(pages, with_defaults)
    allowed: set[str] = set()
    errors: dict[str, list[str]] = {}
    for page in shown:
        allowed.update(page_fields(page))
        for field, messages in validate_page(page, with_defaults).items():
            errors.setdefault(field, []).extend(messages)
    hidden_only = {f for p in pages for f in page_fields(p)} - allowed
    clean = {k: v for k, v in with_defaults.items() if k not in hidden_only}
    return clean, errors


def format_errors(errors: Mapping[str, list[str]]) -> list[str]:
    return [
        f"{field or 'form'}: {message}"
        for field, messages in errors.items()
        for message in messages
    ]
