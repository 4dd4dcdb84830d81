"""Template parameters: JSON Schema pages, validated the same way by the wizard and the run.

`validate_values` is the single rule book: the wizard calls it per field and per page, and
`start_template_run` calls it on everything before a run exists. Pickers add their own checks:
RepoUrlPicker values must parse (and match allowedHosts), OwnerPicker/EntityPicker values must be
entity references (and exist in the catalog unless arbitrary values are allowed).
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import jsonschema
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Case, IntegerField, Q, Value, When

from catalog.models import Entity
from catalog.queries import group_refs_subquery
from scaffolder.expressions import (
    ExpressionError,
    ExpressionLimitExceeded,
    evaluate,
    is_truthy,
    parse_repo_url,
    shared_time_limit,
)
from scaffolder.schema_formats import FORMAT_CHECKER, format_message

ENTITY_PICKERS = {"OwnerPicker", "EntityPicker", "OwnedEntityPicker", "MyGroupsPicker"}
MULTI_ENTITY_PICKERS = {"MultiEntityPicker"}
PICKER_RESULTS = 20  # how many matches the autocomplete shows

# catalogFilter keys that map onto Entity columns (matched case-insensitively, as Backstage's
# catalog does); other `spec.*` / `metadata.*` keys are looked up in the JSON documents.
_FILTER_COLUMNS = {
    "kind": "kind",
    "metadata.name": "name",
    "metadata.namespace": "namespace",
    "metadata.title": "title",
    "spec.type": "spec_type",
    "spec.lifecycle": "lifecycle",
}
EXISTS = "CATALOG_FILTER_EXISTS"

type CatalogFilter = list[dict[str, list[str]]]


def picker_filter(prop: Mapping[str, Any]) -> CatalogFilter:
    """An entity picker's filter as Backstage builds it: `ui:options.catalogFilter` (an object,
    or a list of objects that are OR-ed; each key's values are OR-ed, keys are AND-ed), else
    `allowedKinds` as `{kind: allowedKinds}`; OwnerPicker defaults to Groups and Users."""
    options = prop.get("ui:options") or {}
    raw = options.get("catalogFilter")
    items = raw if isinstance(raw, list) else [raw] if isinstance(raw, Mapping) else []
    filters: CatalogFilter = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        clause: dict[str, list[str]] = {}
        for key, value in item.items():
            values = value if isinstance(value, list) else [value]
            clause[str(key)] = [
                EXISTS if isinstance(v, Mapping) and v.get("exists") else str(v) for v in values
            ]
        filters.append(clause)
    if filters:
        return filters
    kinds = options.get("allowedKinds")
    if not kinds and prop.get("ui:field") == "OwnerPicker":
        kinds = ["Group", "User"]
    elif not kinds and prop.get("ui:field") == "MyGroupsPicker":
        kinds = ["Group"]
    return [{"kind": [str(k) for k in kinds]}] if kinds else []


def _key_q(key: str, values: list[str]) -> Q:
    column = _FILTER_COLUMNS.get(key)
    if column is None:
        root, _, path = key.partition(".")
        if root not in ("spec", "metadata") or not path:
            return Q(pk__in=[])  # a key we cannot look at matches nothing (never everything)
        column = f"{root}__{path.replace('.', '__')}"
    q = Q()
    for value in values:
        if value == EXISTS:
            q |= Q(**{f"{column}__isnull": False}) & ~Q(**{column: ""})
        else:
            q |= Q(**{f"{column}__iexact": value})
    return q


def filter_q(filters: CatalogFilter) -> Q:
    """The Q object selecting the entities a picker offers (everything without a filter)."""
    combined = Q()
    for clause in filters:
        part = Q()
        for key, values in clause.items():
            part &= _key_q(key, values)
        combined |= part
    return combined


def describe_filter(filters: CatalogFilter) -> str:
    kinds = sorted({k for clause in filters for k in clause.get("kind", [])})
    return " or ".join(kinds) if kinds else "entity"


def offers_groups(filters: CatalogFilter) -> bool:
    """A picker that offers teams (an owner): the person's own teams come first."""
    return any("group" in {k.lower() for k in clause.get("kind", [])} for clause in filters)


def search_entities(
    filters: CatalogFilter,
    text: str,
    *,
    user: User | AnonymousUser | None = None,
    limit: int = PICKER_RESULTS,
) -> list[Entity]:
    """Up to `limit` entities matching the picker's filter whose name, title or reference
    contains `text`: ONE query whatever the size of the catalog.

    For a picker of teams and a signed-in `user`, the user's own teams come first, and with no
    text only they are offered (other teams are found by typing): the first suggestion is never
    the whole organisation."""
    query = Entity.objects.filter(filter_q(filters))
    text = text.strip()
    if text:
        query = query.filter(
            Q(name__icontains=text) | Q(title__icontains=text) | Q(ref__icontains=text)
        )
    fields = ("ref", "kind", "name", "title", "spec")
    if user is None or not user.is_authenticated or not offers_groups(filters):
        return list(query.only(*fields).order_by("name", "ref")[:limit])
    mine = group_refs_subquery(user)
    if not text:
        own = list(query.filter(ref__in=mine).only(*fields).order_by("name", "ref")[:limit])
        if own:
            return own
        return list(query.only(*fields).order_by("name", "ref")[:limit])
    ranked = query.annotate(
        theirs=Case(
            When(ref__in=mine, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
    )
    return list(ranked.only(*fields).order_by("theirs", "name", "ref")[:limit])


def prefill_owners(
    pages: list[dict[str, Any]], values: Mapping[str, Any], user: User | AnonymousUser
) -> dict[str, Any]:
    """An empty owner field starts with the person's own team (the first by name when they are
    in several), so the new service is theirs unless they choose otherwise."""
    result = dict(values)
    if not user.is_authenticated:
        return result
    for page in pages:
        for name, prop in page_properties(page).items():
            if prop.get("ui:field") not in ("OwnerPicker", "MyGroupsPicker") or result.get(name):
                continue
            filters = picker_filter(prop)
            if not offers_groups(filters):
                continue
            own = (
                Entity.objects.filter(filter_q(filters), ref__in=group_refs_subquery(user))
                .order_by("name", "ref")
                .values_list("ref", flat=True)
                .first()
            )
            if own:
                result[name] = own
    return result


def page_visible(page: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """A page's `when` (Backstage): hidden pages are not shown, validated or submitted. A `when`
    that fails hides its page; one that goes over the expression limits raises
    ExpressionLimitExceeded (the template is at fault, not the values)."""
    when = page.get("when")
    if when is None or when is True:
        return True
    if when is False:
        return False
    try:
        return is_truthy(evaluate(str(when), {"parameters": dict(values)}, where="page when"))
    except ExpressionLimitExceeded:
        raise
    except ExpressionError:
        return False


def page_fields(page: Mapping[str, Any]) -> list[str]:
    """Every field a page can show: its properties, plus those `dependencies`, `if/then/else`,
    `allOf` and `oneOf`/`anyOf` clauses may add."""
    return list(page_properties(page))


SECRET_FIELDS = {"Secret", "SecretInput"}
OPTION_PREFIX = "__option-"  # the wizard's oneOf/anyOf selector; never a parameter
_COMBINATORS = ("allOf", "oneOf", "anyOf")
_MAX_DEPTH = 8


def _sub_schemas(schema: Mapping[str, Any]) -> list[Any]:
    """Every sub-schema that can add fields to an object schema, whatever the values."""
    found: list[Any] = [schema.get("then"), schema.get("else")]
    for word in _COMBINATORS:
        found.extend(schema.get(word) or [])
    for dep in (schema.get("dependencies") or {}).values():
        if isinstance(dep, Mapping):
            found.append(dep)
    return found


def page_properties(page: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Every property schema a page can show, by name (see `page_fields`)."""
    found: dict[str, Mapping[str, Any]] = {}

    def add(schema: Any, depth: int) -> None:
        if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
            return
        for name, prop in (schema.get("properties") or {}).items():
            if isinstance(prop, Mapping):
                found.setdefault(name, prop)
        for sub in _sub_schemas(schema):
            add(sub, depth + 1)

    add(page, 0)
    return found


def reshaping_fields(page: Mapping[str, Any]) -> set[str]:
    """Fields whose value changes which fields the page shows: `dependencies` keys and the
    fields an `if` looks at (the wizard redraws the page when one changes)."""
    found: set[str] = set()

    def walk(schema: Any, depth: int) -> None:
        if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
            return
        found.update(str(k) for k in schema.get("dependencies") or {})
        condition = schema.get("if")
        if isinstance(condition, Mapping):
            found.update(str(k) for k in condition.get("properties") or {})
            found.update(str(k) for k in condition.get("required") or [])
        for sub in _sub_schemas(schema):
            walk(sub, depth + 1)

    walk(page, 0)
    return found


def option_key(schema: Mapping[str, Any], word: str) -> str:
    title = re.sub(r"[^a-z0-9]+", "-", str(schema.get("title") or "").lower()).strip("-")
    return f"{OPTION_PREFIX}{word}-{title or 'page'}"


def option_title(option: Any, index: int) -> str:
    title = option.get("title") if isinstance(option, Mapping) else None
    return str(title or f"Option {index + 1}")


def selected_option(schema: Mapping[str, Any], word: str, values: Mapping[str, Any]) -> int:
    """Which branch of a `oneOf`/`anyOf` the wizard shows, as react-jsonschema-form picks it:
    the one the person chose in the selector, else the first the values already fit (one of
    its own fields filled in and the branch valid), else the one with the most of its fields
    filled in, else the first."""
    options = schema.get(word) or []
    chosen = values.get(option_key(schema, word))
    if isinstance(chosen, str) and chosen.isdigit() and int(chosen) < len(options):
        return int(chosen)
    if isinstance(chosen, int) and 0 <= chosen < len(options):
        return chosen
    given = {k for k, v in values.items() if v not in (None, "", [])}
    best, best_score = 0, 0
    for index, option in enumerate(options):
        if not isinstance(option, Mapping):
            continue
        score = len(set(option.get("properties") or {}) & given)
        if score and _fits(option, values):
            return index
        if score > best_score:  # rjsf's closest option: the most of its fields filled in
            best, best_score = index, score
    return best


def _fits(schema: Any, value: Any) -> bool:
    try:
        return jsonschema.Draft7Validator(schema).is_valid(value)
    except jsonschema.SchemaError:
        return False


def shown_schema(
    page: Mapping[str, Any], values: Mapping[str, Any]
) -> tuple[dict[str, Mapping[str, Any]], set[str]]:
    """The fields the wizard shows for these values and which of them are required, resolved
    as react-jsonschema-form resolves a schema: `dependencies` (a list, a schema, or `oneOf`
    branches chosen by the trigger field's value) once their field has a value, `if`/`then`/
    `else` by the values, `allOf` all, and the selected branch of a `oneOf`/`anyOf`."""
    props: dict[str, Mapping[str, Any]] = {}
    required: set[str] = set()

    def filled(name: str) -> bool:
        return values.get(name) not in (None, "", [])

    def walk(schema: Any, depth: int) -> None:
        if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
            return
        for name, prop in (schema.get("properties") or {}).items():
            if isinstance(prop, Mapping):
                props.setdefault(name, prop)
        required.update(str(r) for r in schema.get("required") or [])
        for key, dep in (schema.get("dependencies") or {}).items():
            if not filled(key):
                continue
            if isinstance(dep, list):
                required.update(str(r) for r in dep)
                continue
            if not isinstance(dep, Mapping):
                continue
            walk({k: v for k, v in dep.items() if k != "oneOf"}, depth + 1)
            for option in dep.get("oneOf") or []:
                condition = (
                    (option.get("properties") or {}).get(key)
                    if isinstance(option, Mapping)
                    else None
                )
                if condition is not None and _fits(condition, values.get(key)):
                    walk(option, depth + 1)
                    break
        for clause in schema.get("allOf") or []:
            walk(clause, depth + 1)
        if "if" in schema:
            walk(
                schema.get("then") if _fits(schema["if"], values) else schema.get("else"), depth + 1
            )
        for word in ("oneOf", "anyOf"):
            options = schema.get(word) or []
            if options:
                walk(options[selected_option(schema, word, values)], depth + 1)

    walk(page, 0)
    return props, required & set(props) | (required - set(page_properties(page)))


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


_RESOLVED_AWAY = ("title", "description", "when", "properties", "required", "dependencies",
                  "if", "then", "else", *_COMBINATORS)  # fmt: skip


def _schema(page: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The page's schema for these values: the fields shown and required (`shown_schema`),
    with the page's other keywords; a field is required only when it is shown."""
    props, required = shown_schema(page, values)
    schema = {k: v for k, v in page.items() if k not in _RESOLVED_AWAY}
    schema.setdefault("type", "object")
    schema["properties"] = props
    schema["required"] = sorted(required)
    return schema


def _picker_errors(
    name: str, prop: Mapping[str, Any], value: Any, *, check_catalog: bool = True
) -> list[str]:
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
    if field in ENTITY_PICKERS | MULTI_ENTITY_PICKERS:
        return _entity_errors(prop, value, check_catalog=check_catalog)
    return []


def _default_kind(prop: Mapping[str, Any], filters: CatalogFilter) -> str:
    options = prop.get("ui:options") or {}
    if options.get("defaultKind"):
        return str(options["defaultKind"]).lower()
    kinds = {k for clause in filters for k in clause.get("kind", []) if k != EXISTS}
    if len(kinds) == 1:
        return kinds.pop().lower()
    return "group" if prop.get("ui:field") == "OwnerPicker" else ""


def _entity_errors(prop: Mapping[str, Any], value: Any, *, check_catalog: bool) -> list[str]:
    """Every picked value must be an entity reference of an allowed kind that exists in the
    catalog (unless `allowArbitraryValues: true`, or a dry-run that need not have the catalog).
    One query for any number of values."""
    options = prop.get("ui:options") or {}
    values = value if isinstance(value, list) else [value]
    filters = picker_filter(prop)
    default_kind = _default_kind(prop, filters)
    namespace = str(options.get("defaultNamespace") or "default").lower()
    refs: list[str] = []
    for item in values:
        ref = normalise_ref(str(item), default_kind, namespace) if isinstance(item, str) else None
        if ref is None:
            return [
                f"{item!r} is not an entity reference; pick one from the list "
                "(e.g. group:default/team-orders)"
            ]
        refs.append(ref)
    kinds = {k.lower() for clause in filters for k in clause.get("kind", [])} - {EXISTS.lower()}
    wrong = [ref for ref in refs if kinds and ref.split(":", 1)[0] not in kinds]
    if wrong:
        return [f"{wrong[0]} is a {wrong[0].split(':', 1)[0]}; choose a {describe_filter(filters)}"]
    if options.get("allowArbitraryValues") is True or not check_catalog:
        return []
    found = set(
        Entity.objects.filter(filter_q(filters), ref__in=refs).values_list("ref", flat=True)
    )
    missing = [ref for ref in refs if ref not in found]
    if not missing:
        return []
    if Entity.objects.filter(ref=missing[0]).exists():
        return [f"{missing[0]} does not match this field's filter; pick one from the list"]
    return [f"{missing[0]} is not in the catalog; pick one from the list"]


def normalise_ref(value: str, default_kind: str, default_namespace: str = "default") -> str | None:
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
        namespace, name = default_namespace, rest
    if not name:
        return None
    return f"{kind}:{namespace}/{name}"


def validate_page(
    page: Mapping[str, Any], values: Mapping[str, Any], *, check_catalog: bool = True
) -> dict[str, list[str]]:
    """Errors by field name ("" for errors that belong to no single field). Without
    `check_catalog` (dry-runs), picked entities need not exist in the catalog."""
    errors: dict[str, list[str]] = {}
    schema = _schema(page, values)
    validator = jsonschema.Draft7Validator(schema, format_checker=FORMAT_CHECKER)
    page_values = {k: v for k, v in values.items() if k in schema["properties"]}
    for error in validator.iter_errors(page_values):
        if error.validator == "required" or error.validator == "dependencies":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            errors.setdefault(missing, []).append("This field is required.")
            continue
        path = [str(p) for p in error.absolute_path]
        field = path[0] if path else ""
        errors.setdefault(field, []).append(_friendly(error))
    for name, prop in schema["properties"].items():
        if isinstance(prop, Mapping):
            for message in _picker_errors(
                name, prop, values.get(name), check_catalog=check_catalog
            ):
                errors.setdefault(name, []).append(message)
    return errors


def _friendly(error: jsonschema.ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "pattern":
        return pattern_message(schema, error.instance)
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
    if error.validator == "format":
        return format_message(str(error.validator_value))
    return str(error.message)


def _matches_pattern(pattern: str, value: str) -> bool:
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return False


def pattern_message(schema: Mapping[str, Any], value: Any) -> str:
    """Say in plain words what is wrong with a value that does not match a field's pattern
    (never the regular expression itself): the common mistakes get their own message with a
    suggestion that would pass; otherwise the field's own help explains the rule."""
    pattern = str(schema.get("pattern") or "")
    text = str(value)
    rule = str(schema.get("description") or schema.get("ui:help") or "").strip()
    explained = f" {rule}" if rule else ""
    if text != text.strip():
        return "Remove the spaces at the start or end."
    if text.endswith(("-", "_", ".")) and _matches_pattern(pattern, text[:-1] + "a"):
        return f"End with a letter or a digit, not “{text[-1]}”."
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    suggestion = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")
    if text.lower() != text and _matches_pattern(pattern, text.lower()):
        return f"Use lower-case letters only: “{text.lower()}”."
    if suggestion != text and suggestion and _matches_pattern(pattern, suggestion):
        return (
            "Use only lower-case letters, digits and dashes (no spaces or other characters): "
            f"“{suggestion}” would do."
        )
    if (text[:1].isdigit() or text[:1] in "-_.") and _matches_pattern(pattern, "a" + text[1:]):
        return f"Start with a letter, not “{text[:1]}”."
    if len(text) < 3 and _matches_pattern(pattern, text.lower() + "a" * (3 - len(text))):
        return "Too short: use at least 3 characters."
    for size in range(min(len(text), 100) - 1, 2, -1):
        if _matches_pattern(pattern, text[:size]):
            return f"Too long: use at most {size} characters."
    return f"“{text}” is not allowed here.{explained}" if rule else f"“{text}” is not allowed here."


def visible_pages(pages: list[dict[str, Any]], values: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [page for page in pages if page_visible(page, values)]


def validate_values(
    pages: list[dict[str, Any]], values: Mapping[str, Any], *, check_catalog: bool = True
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Validate every visible page. Returns (clean values with defaults, errors by field).

    Values of hidden pages are dropped, as Backstage drops them on submit. A page `when` over
    the expression limits is a form error."""
    try:
        with shared_time_limit():
            with_defaults = apply_defaults(visible_pages(pages, values), values)
            shown = visible_pages(pages, with_defaults)
    except ExpressionLimitExceeded as exc:
        return dict(values), {"": [str(exc)]}
    allowed: set[str] = set()
    errors: dict[str, list[str]] = {}
    for page in shown:
        allowed.update(shown_schema(page, with_defaults)[0])
        for field, messages in validate_page(
            page, with_defaults, check_catalog=check_catalog
        ).items():
            errors.setdefault(field, []).extend(messages)
    hidden_only = {f for p in pages for f in page_fields(p)} - allowed
    clean = {
        k: v
        for k, v in with_defaults.items()
        if k not in hidden_only and not k.startswith(OPTION_PREFIX)
    }
    return clean, errors


def format_errors(errors: Mapping[str, list[str]]) -> list[str]:
    return [
        f"{field or 'form'}: {message}"
        for field, messages in errors.items()
        for message in messages
    ]
