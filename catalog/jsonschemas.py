"""Backstage's published JSON Schemas, compiled once, with errors in plain words.

The schemas are vendored unchanged under catalog/schemas/backstage/ (see its README and
`bin/backstage-node refresh-schemas.cjs`). They are compiled with jsonschema-rs: on the
10,000-document bench it checks every document in about 10 ms, where the `jsonschema` package
needs over 2 s and fastjsonschema about 0.1 s (docs/catalog.md, Speed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas" / "backstage"

# Built-in kind -> its schema file, as BuiltinKindsEntityProcessor (plugin-catalog-backend) and
# the scaffolder's Template processor validate them; `by_spec_type` schemas replace the default
# one for that spec.type (catalog-model's kind layers, e.g. API type mcp-server).
_CORE_FILES: dict[str, tuple[str, dict[str, str]]] = {
    "Component": ("catalog-model/kinds/Component.v1alpha1.schema.json", {}),
    "API": (
        "catalog-model/kinds/API.v1alpha1.schema.json",
        {"mcp-server": "catalog-model/kinds/API.v1alpha1.mcp-server.schema.json"},
    ),
    "Resource": ("catalog-model/kinds/Resource.v1alpha1.schema.json", {}),
    "System": ("catalog-model/kinds/System.v1alpha1.schema.json", {}),
    "Domain": ("catalog-model/kinds/Domain.v1alpha1.schema.json", {}),
    "Group": ("catalog-model/kinds/Group.v1alpha1.schema.json", {}),
    "User": ("catalog-model/kinds/User.v1alpha1.schema.json", {}),
    "Location": ("catalog-model/kinds/Location.v1alpha1.schema.json", {}),
    "Template": ("plugin-scaffolder-common/Template.v1beta3.schema.json", {}),
}


@cache
def _published() -> dict[str, dict[str, Any]]:
    """Every vendored schema by its `$id` (Entity, EntityMeta, common, ComponentV1alpha1, ...)."""
    schemas: dict[str, dict[str, Any]] = {}
    for path in sorted(SCHEMA_DIR.rglob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        schemas[schema["$id"]] = schema
    return schemas


@cache
def _registry() -> jsonschema_rs.Registry:
    return jsonschema_rs.Registry(list(_published().items()))


@cache
def _compiled(text: str) -> jsonschema_rs.Draft7Validator:
    return jsonschema_rs.Draft7Validator(json.loads(text), registry=_registry())


def _load(relative: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMA_DIR / relative).read_text(encoding="utf-8"))
    return data


def _kind_part(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A kind schema is `allOf: [{$ref: Entity}, <what the kind adds>]`; the envelope is checked
    on its own first, so only the kind's own part is compiled here (no error reported twice)."""
    parts = [p for p in schema.get("allOf", [schema]) if p != {"$ref": "Entity"}]
    return parts[0] if len(parts) == 1 else {"allOf": parts}


class Compiled:
    """A schema and its compiled validator (compiled once per distinct schema)."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self.validator = _compiled(json.dumps(schema, sort_keys=True))

    def accepts(self, instance: Any) -> bool:
        """The fast path: most documents are valid, and then nothing needs wording."""
        try:
            return bool(self.validator.is_valid(instance))
        except ValueError:  # keys that are not strings; `problems` handles them
            return False


@dataclass(frozen=True)
class KindSchema:
    """What a kind adds to the envelope: a JSON Schema (draft-07) over the whole entity."""

    kind: str
    schema: Mapping[str, Any]
    by_spec_type: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    description: str = ""
    _compiled: dict[str, Compiled] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Compiled once here, not per document: building the cache key costs more than checking.
        self._compiled[""] = Compiled(self.schema)
        for spec_type, schema in self.by_spec_type.items():
            self._compiled[spec_type] = Compiled(schema)

    @property
    def api_versions(self) -> tuple[str, ...]:
        enum = self.schema.get("properties", {}).get("apiVersion", {}).get("enum", [])
        return tuple(enum)

    def compiled_for(self, entity: Mapping[str, Any]) -> Compiled:
        spec = entity.get("spec")
        spec_type = spec.get("type") if isinstance(spec, dict) else None
        if isinstance(spec_type, str) and spec_type in self.by_spec_type:
            return self._compiled[spec_type]
        return self._compiled[""]


def _core_kinds() -> dict[str, KindSchema]:
    kinds = {}
    for kind, (default, variants) in _CORE_FILES.items():
        kinds[kind] = KindSchema(
            kind,
            _kind_part(_load(default)),
            {t: _kind_part(_load(f)) for t, f in variants.items()},
        )
    return kinds


CORE_KINDS: dict[str, KindSchema] = _core_kinds()


def extra_kind(
    kind: str, api_versions: Sequence[str], required_spec: Sequence[str], description: str = ""
) -> KindSchema:
    """A kind the platform team registered: accepted apiVersions and spec fields that must be
    present (any value), written as the same kind of schema as Backstage's own."""
    schema = {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"enum": list(api_versions)},
            "kind": {"enum": [kind]},
            "spec": {"type": "object", "required": list(required_spec)},
        },
    }
    return KindSchema(kind, schema, {}, description)


@cache
def envelope() -> Compiled:
    """Backstage's `Entity` schema (SchemaValidEntityPolicy): root, metadata, relations, status."""
    return Compiled(_published()["Entity"])


# --- Errors in plain words ----------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaProblem:
    """One schema violation: the dotted path of the field, and what is wrong with it."""

    path: str
    message: str
    keyword: str


_TYPE_WORDS = {
    "string": "a string",
    "array": "a list",
    "object": "a mapping",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "nothing (null)",
}


def _join(path: Sequence[str | int]) -> str:
    return ".".join(str(p) for p in path)


def _subschema(root: Mapping[str, Any], schema_path: Sequence[str | int]) -> Any:
    node: Any = root
    for step in schema_path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _alternatives(options: Any) -> str:
    words = []
    for option in options if isinstance(options, list) else []:
        types = option.get("type") if isinstance(option, dict) else None
        for t in types if isinstance(types, list) else [types]:
            if t in _TYPE_WORDS and _TYPE_WORDS[t] not in words:
                words.append(_TYPE_WORDS[t])
    return " or ".join(words) if words else "one of the allowed shapes"


def _string_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_string_keys(v) for v in value]
    return value


def problems(
    checked: Compiled,
    instance: Any,
    show: Any,
    *,
    kind: str | None = None,
) -> Iterator[SchemaProblem]:
    """Every violation of a schema by `instance`, worded for people; `show` renders a value."""
    compiled, schema = checked.validator, checked.schema
    try:
        if compiled.is_valid(instance):
            return
    except ValueError:
        # Keys that are not strings (only from Python callers: the YAML reader gives strings,
        # as Backstage's does) are checked in their string form; the policies judge the keys.
        instance = _string_keys(instance)
        if compiled.is_valid(instance):
            return
    for error in compiled.iter_errors(instance):
        where = list(error.instance_path)
        path = _join(where)
        found = error.instance
        name = type(error.kind).__name__
        keyword = str(error.schema_path[-1]) if error.schema_path else name
        text: str
        if name == "Required":
            missing = str(getattr(error.kind, "property", ""))
            path = _join([*where, missing])
            text = f"is required for {kind} entities" if kind else "is required"
        elif name == "Type":
            types = list(getattr(error.kind, "types", []) or [])
            wanted = " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in types)
            text = f"must be {wanted}, found {show(found)}"
        elif name == "MinLength":
            limit = int(getattr(error.kind, "limit", 1))
            text = (
                "must not be empty"
                if limit == 1
                else f"must be at least {limit} characters, found {show(found)}"
            )
        elif name == "MaxLength":
            text = f"must be at most {getattr(error.kind, 'limit', '?')} characters"
        elif name == "Enum":
            options = [str(o) for o in getattr(error.kind, "options", []) or []]
            if kind and where in (["apiVersion"], ["kind"]):
                text = f"{kind} entities use {' or '.join(options)}, found {show(found)}"
            else:
                text = f"must be one of {', '.join(options)}, found {show(found)}"
        elif name == "Constant":
            text = (
                f"must be {show(getattr(error.kind, 'expected_value', None))}, found {show(found)}"
            )
        elif name == "Pattern":
            text = f"{show(found)} does not match {getattr(error.kind, 'pattern', 'the pattern')}"
        elif name == "MinItems":
            limit = int(getattr(error.kind, "limit", 1))
            text = f"must hold at least {limit} item{'s' if limit != 1 else ''}"
        elif name in ("OneOfNotValid", "AnyOf", "OneOfMultipleValid"):
            options = _subschema(schema, list(error.schema_path))
            text = f"must be {_alternatives(options)}, found {show(found)}"
        elif name == "AdditionalProperties":
            unexpected = [str(k) for k in getattr(error.kind, "unexpected", []) or []]
            for key in unexpected:
                yield SchemaProblem(_join([*where, key]), "is not an allowed field", keyword)
            continue
        else:
            text = error.message
        yield SchemaProblem(path, text, keyword)
