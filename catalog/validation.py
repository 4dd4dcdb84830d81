"""Backstage's entity rules, in pure Python (no Django), fast enough for 10,000 documents.

Sources: @backstage/catalog-model 1.10.3 (KubernetesValidatorFunctions, CommonValidatorFunctions,
FieldFormatEntityPolicy, the kind JSON schemas, ref.ts, location/helpers.ts) — see
docs/catalog.md. Unlike Backstage, which stops at the first failing field, we report every
problem we find, each as "<field path>: <what is wrong> (<rule>)".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from portal.lib.links import is_safe_link, link_scheme

# --- Field formats ------------------------------------------------------------------------------

_OBJECT_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_LABEL = re.compile(r"[a-z0-9]+(?:-+[a-z0-9]+)*")
_KIND = re.compile(r"[a-zA-Z][a-z0-9A-Z]*")
_API_VERSION = re.compile(r"[a-z0-9A-Z]+")
_TAG = re.compile(r"[a-z0-9:+#]+(-[a-z0-9:+#]+)*")
_URL_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):(.*)", re.S)
_SPECIAL_SCHEMES = {"http", "https", "ws", "wss", "ftp"}


def is_valid_object_name(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_OBJECT_NAME.fullmatch(value))


def is_valid_dns_label(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_DNS_LABEL.fullmatch(value))


def is_valid_dns_subdomain(value: object) -> bool:
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 253
        and all(is_valid_dns_label(part) for part in value.split("."))
    )


def _prefix_and_or_suffix(value: object, prefix_ok: Any, suffix_ok: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = value.split("/")
    if len(parts) == 1:
        return bool(suffix_ok(parts[0]))
    if len(parts) == 2:
        return bool(prefix_ok(parts[0]) and suffix_ok(parts[1]))
    return False


def _api_version_part(value: str) -> bool:
    return 1 <= len(value) <= 63 and bool(_API_VERSION.fullmatch(value))


def is_valid_api_version(value: object) -> bool:
    return _prefix_and_or_suffix(value, is_valid_dns_subdomain, _api_version_part)


def is_valid_kind(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_KIND.fullmatch(value))


is_valid_entity_name = is_valid_object_name
is_valid_namespace = is_valid_dns_label


def is_valid_label_key(value: object) -> bool:
    return _prefix_and_or_suffix(value, is_valid_dns_subdomain, is_valid_object_name)


def is_valid_label_value(value: object) -> bool:
    return value == "" or is_valid_object_name(value)


is_valid_annotation_key = is_valid_label_key


def is_valid_annotation_value(value: object) -> bool:
    return isinstance(value, str)


def is_valid_tag(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_TAG.fullmatch(value))


def is_valid_url(value: object) -> bool:
    """Mirror `new URL(value)` closely enough: an absolute URL with a scheme; special schemes
    (http, https, ws, wss, ftp) need a host."""
    if not isinstance(value, str):
        return False
    match = _URL_SCHEME.fullmatch(
        value.strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r ")
    )
    if not match:
        return False
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme in _SPECIAL_SCHEMES:
        host = rest.lstrip("/\\").split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        host = host.rsplit("@", 1)[-1]
        hostname, _, port = host.partition(":")
        if not hostname or (port and not port.isdigit()):
            return False
    return True


# Plain-words description of each rule, used in error messages.
RULES: dict[str, str] = {
    "entity_name": "1-63 characters: letters and digits, separated by '-', '_' or '.', "
    "starting and ending with a letter or digit",
    "namespace": "1-63 lower-case letters and digits, separated by '-'",
    "kind": "a letter followed by letters and digits, at most 63 characters",
    "api_version": "[<dns-name>/]<version>, e.g. backstage.io/v1alpha1",
    "label_key": "[<dns-name>/]<name>, the name part following the entity-name rule",
    "label_value": "empty, or 1-63 letters and digits separated by '-', '_' or '.'",
    "annotation_key": "[<dns-name>/]<name>, the name part following the entity-name rule",
    "annotation_value": "a string (quote numbers and booleans)",
    "tag": "1-63 lower-case letters, digits, '+', '#' or ':', separated by single '-'",
    "link_url": "an absolute URL such as https://example.com/page",
    "non_empty": "a non-empty string",
}

_CHECKS = {
    "entity_name": is_valid_entity_name,
    "namespace": is_valid_namespace,
    "kind": is_valid_kind,
    "api_version": is_valid_api_version,
    "label_key": is_valid_label_key,
    "label_value": is_valid_label_value,
    "annotation_key": is_valid_annotation_key,
    "annotation_value": is_valid_annotation_value,
    "tag": is_valid_tag,
    "link_url": is_valid_url,
}


def check_field(rule: str, value: object) -> bool:
    """Whether `value` satisfies the named format rule (see RULES)."""
    return bool(_CHECKS[rule](value))


# --- Errors -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    """One problem: where (dotted field path), what is wrong, and which rule (plain words)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def _show(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f'"{value}"' if len(value) <= 80 else f'"{value[:77]}..."'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in PLACEHOLDERS:
            return f"a {next(iter(value))} placeholder (resolved when the catalog ingests the file)"
        return "a mapping"
    return type(value).__name__


def _format_error(path: str, rule: str, value: object) -> FieldError:
    return FieldError(path, f"{_show(value)} is not valid; expected {RULES[rule]} ({rule} rule)")


# --- Entity references --------------------------------------------------------------------------


class RefError(ValueError):
    """An entity reference that cannot be parsed."""


@dataclass(frozen=True)
class EntityName:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return stringify_ref(self.kind, self.namespace, self.name)


def stringify_ref(kind: str, namespace: str | None, name: str) -> str:
    """Backstage's `stringifyEntityRef`: always `kind:namespace/name`, lower case."""
    return f"{kind}:{namespace or 'default'}/{name}".lower()


def _compound_repr(ref: Mapping[str, Any]) -> str:
    import json

    return json.dumps(dict(ref), separators=(",", ":"))


def parse_ref(
    ref: str | Mapping[str, Any],
    *,
    default_kind: str | None = None,
    default_namespace: str | None = None,
) -> EntityName:
    """Backstage's `parseEntityRef`: `[<kind>:][<namespace>/]<name>`, case preserved.

    The first ':' separates the kind unless a '/' comes before it; the first '/' separates the
    namespace. Missing kind is an error unless `default_kind` is given."""
    if isinstance(ref, Mapping):
        kind, namespace, name = ref.get("kind"), ref.get("namespace"), ref.get("name")
        shown = _compound_repr(ref)
        if kind is None:
            kind = default_kind
        if namespace is None:
            namespace = default_namespace or "default"
    else:
        if not isinstance(ref, str):
            raise RefError(f"Entity reference must be a string, found {_show(ref)}")
        if not ref:
            raise RefError("Entity reference must not be empty")
        shown = f'"{ref}"'
        colon, slash = ref.find(":"), ref.find("/")
        kind_part: str | None = None
        rest = ref
        if colon != -1 and (slash == -1 or colon < slash):
            kind_part, rest = ref[:colon], ref[colon + 1 :]
        ns_part: str | None = None
        slash = rest.find("/")
        if slash != -1:
            ns_part, rest = rest[:slash], rest[slash + 1 :]
        if kind_part == "" or ns_part == "" or rest == "":
            raise RefError(
                f"Entity reference {shown} was not on the form [<kind>:][<namespace>/]<name>"
            )
        kind = kind_part if kind_part is not None else default_kind
        namespace = ns_part if ns_part is not None else (default_namespace or "default")
        name = rest
    if not kind:
        raise RefError(
            f"Entity reference {shown} had missing or empty kind (e.g. did not start with "
            f'"component:" or similar)'
        )
    if not namespace:
        raise RefError(f"Entity reference {shown} had missing or empty namespace")
    if not name:
        raise RefError(f"Entity reference {shown} had missing or empty name")
    return EntityName(str(kind), str(namespace), str(name))


@dataclass(frozen=True)
class LocationRef:
    type: str
    target: str


def parse_location_ref(ref: str) -> LocationRef:
    """Backstage's `parseLocationRef`: `<type>:<target>`, split on the first ':'."""
    if not isinstance(ref, str):
        raise RefError(f"Unable to parse location ref {ref!r}, expected a string")
    type_, sep, target = ref.partition(":")
    type_, target = type_.strip(), target.strip()
    if not sep or not type_ or not target:
        raise RefError(
            f"Unable to parse location ref '{ref}', expected '<type>:<target>', "
            f"e.g. 'url:https://host/path'"
        )
    if type_ in ("http", "https"):
        raise RefError(
            f"Invalid location ref '{ref}', please prefix it with 'url:', e.g. 'url:{ref}'"
        )
    if target.lower().startswith("javascript:"):
        raise RefError(f"Invalid location ref '{ref}', target is a javascript: URL")
    return LocationRef(type_, target)


# --- Kinds --------------------------------------------------------------------------------------

CORE_API_VERSIONS = ("backstage.io/v1alpha1", "backstage.io/v1beta1")
TEMPLATE_API_VERSIONS = ("scaffolder.backstage.io/v1beta3",)

# field -> type: "str", "[str]", "obj", "[obj]", "enum:a|b", "any", "obj|[any]"
_S, _L, _O = "str", "[str]", "obj"


@dataclass(frozen=True)
class KindSchema:
    """What a kind requires and allows in `spec` (extra spec keys are always allowed)."""

    kind: str
    api_versions: tuple[str, ...]
    required: dict[str, str] = field(default_factory=dict)
    optional: dict[str, str] = field(default_factory=dict)
    description: str = ""


CORE_KINDS: dict[str, KindSchema] = {
    k.kind: k
    for k in [
        KindSchema(
            "Component",
            CORE_API_VERSIONS,
            {"type": _S, "lifecycle": _S, "owner": _S},
            {
                "system": _S,
                "subcomponentOf": _S,
                "providesApis": _L,
                "consumesApis": _L,
                "dependsOn": _L,
                "dependencyOf": _L,
            },
        ),
        KindSchema(
            "API",
            CORE_API_VERSIONS,
            {"type": _S, "lifecycle": _S, "owner": _S, "definition": _S},
            {"system": _S},
        ),
        KindSchema(
            "Resource",
            CORE_API_VERSIONS,
            {"type": _S, "owner": _S},
            {"system": _S, "dependsOn": _L, "dependencyOf": _L},
        ),
        KindSchema("System", CORE_API_VERSIONS, {"owner": _S}, {"domain": _S, "type": _S}),
        KindSchema("Domain", CORE_API_VERSIONS, {"owner": _S}, {"subdomainOf": _S, "type": _S}),
        KindSchema(
            "Group",
            CORE_API_VERSIONS,
            {"type": _S, "children": "[str]*"},
            {"profile": "profile", "parent": _S, "members": "[str]*"},
        ),
        KindSchema("User", CORE_API_VERSIONS, {"memberOf": "[str]*"}, {"profile": "profile"}),
        KindSchema(
            "Location",
            CORE_API_VERSIONS,
            {},
            {"type": _S, "target": _S, "targets": _L, "presence": "enum:required|optional"},
        ),
        KindSchema(
            "Template",
            TEMPLATE_API_VERSIONS,
            {"type": _S, "steps": "steps"},
            {
                "owner": _S,
                "lifecycle": _S,
                "parameters": "obj|[any]",
                "output": _O,
                "secrets": _O,
                "presentation": _O,
            },
        ),
    ]
}


def _check_type(path: str, value: Any, type_: str, errors: list[FieldError]) -> None:
    if type_ == _S:
        if not isinstance(value, str) or not value:
            errors.append(FieldError(path, f"must be a non-empty string, found {_show(value)}"))
    elif type_ in (_L, "[str]*"):
        if not isinstance(value, list):
            errors.append(FieldError(path, f"must be a list of strings, found {_show(value)}"))
            return
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item:
                errors.append(
                    FieldError(f"{path}.{i}", f"must be a non-empty string, found {_show(item)}")
                )
    elif type_ == _O:
        if not isinstance(value, dict):
            errors.append(FieldError(path, f"must be a mapping, found {_show(value)}"))
    elif type_ == "obj|[any]":
        if not isinstance(value, dict | list):
            errors.append(FieldError(path, f"must be a mapping or a list, found {_show(value)}"))
    elif type_.startswith("enum:"):
        allowed = type_[5:].split("|")
        if value not in allowed:
            errors.append(
                FieldError(path, f"must be one of {', '.join(allowed)}, found {_show(value)}")
            )
    elif type_ == "profile":
        if not isinstance(value, dict):
            errors.append(FieldError(path, f"must be a mapping, found {_show(value)}"))
            return
        for key in ("displayName", "email", "picture"):
            if key in value and (not isinstance(value[key], str) or not value[key]):
                errors.append(
                    FieldError(
                        f"{path}.{key}", f"must be a non-empty string, found {_show(value[key])}"
                    )
                )
    elif type_ == "steps":
        if not isinstance(value, list):
            errors.append(FieldError(path, f"must be a list of steps, found {_show(value)}"))
            return
        for i, step in enumerate(value):
            if not isinstance(step, dict):
                errors.append(FieldError(f"{path}.{i}", f"must be a mapping, found {_show(step)}"))
            elif not isinstance(step.get("action"), str) or not step.get("action"):
                errors.append(FieldError(f"{path}.{i}.action", "is required (a non-empty string)"))


def _is_placeholder(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in PLACEHOLDERS


PLACEHOLDERS = ("$text", "$json", "$yaml")


def validate_kind(entity: Mapping[str, Any], schema: KindSchema, errors: list[FieldError]) -> None:
    """The kind's JSON schema: apiVersion, spec present, required/optional spec field types."""
    api_version = entity.get("apiVersion")
    if api_version not in schema.api_versions:
        errors.append(
            FieldError(
                "apiVersion",
                f"{schema.kind} entities use {' or '.join(schema.api_versions)}, "
                f"found {_show(api_version)}",
            )
        )
    spec = entity.get("spec")
    if spec is None:
        errors.append(FieldError("spec", f"is required for {schema.kind} entities"))
        return
    if not isinstance(spec, dict):
        errors.append(FieldError("spec", f"must be a mapping, found {_show(spec)}"))
        return
    required = schema.required
    if schema.kind == "API" and spec.get("type") == "mcp-server":
        # API type mcp-server (catalog-model 1.9.0): `remotes` replaces `definition`.
        required = {k: v for k, v in required.items() if k != "definition"}
        remotes = spec.get("remotes")
        if not isinstance(remotes, list):
            errors.append(FieldError("spec.remotes", "is required for mcp-server APIs (a list)"))
    for key, type_ in required.items():
        if key not in spec:
            errors.append(FieldError(f"spec.{key}", f"is required for {schema.kind} entities"))
        else:
            _check_type(f"spec.{key}", spec[key], type_, errors)
    for key, type_ in schema.optional.items():
        if key in spec:
            _check_type(f"spec.{key}", spec[key], type_, errors)


# Relation fields: spec field -> (forward, reverse, default kind or None). Order is Backstage's.
RELATION_FIELDS: dict[str, list[tuple[str, str, str, str | None]]] = {
    "Component": [
        ("owner", "ownedBy", "ownerOf", "Group"),
        ("subcomponentOf", "partOf", "hasPart", "Component"),
        ("providesApis", "providesApi", "apiProvidedBy", "API"),
        ("consumesApis", "consumesApi", "apiConsumedBy", "API"),
        ("dependsOn", "dependsOn", "dependencyOf", None),
        ("dependencyOf", "dependencyOf", "dependsOn", None),
        ("system", "partOf", "hasPart", "System"),
    ],
    "API": [
        ("owner", "ownedBy", "ownerOf", "Group"),
        ("system", "partOf", "hasPart", "System"),
    ],
    "Resource": [
        ("owner", "ownedBy", "ownerOf", "Group"),
        ("dependsOn", "dependsOn", "dependencyOf", None),
        ("dependencyOf", "dependencyOf", "dependsOn", None),
        ("system", "partOf", "hasPart", "System"),
    ],
    "System": [
        ("owner", "ownedBy", "ownerOf", "Group"),
        ("domain", "partOf", "hasPart", "Domain"),
    ],
    "Domain": [
        ("owner", "ownedBy", "ownerOf", "Group"),
        ("subdomainOf", "partOf", "hasPart", "Domain"),
    ],
    "User": [("memberOf", "memberOf", "hasMember", "Group")],
    "Group": [
        ("parent", "childOf", "parentOf", "Group"),
        ("children", "parentOf", "childOf", "Group"),
        ("members", "hasMember", "memberOf", "User"),
    ],
    "Template": [("owner", "ownedBy", "ownerOf", "Group")],
}
_SORTED_FIELDS = {
    "providesApis",
    "consumesApis",
    "dependsOn",
    "dependencyOf",
    "memberOf",
    "children",
    "members",
}
RELATION_PAIRS = {
    "ownedBy": "ownerOf",
    "partOf": "hasPart",
    "dependsOn": "dependencyOf",
    "providesApi": "apiProvidedBy",
    "consumesApi": "apiConsumedBy",
    "memberOf": "hasMember",
    "childOf": "parentOf",
}
RELATION_PAIRS.update({v: k for k, v in list(RELATION_PAIRS.items())})


@dataclass(frozen=True)
class RelationRow:
    source: str
    type: str
    target: str


def entity_ref_of(entity: Mapping[str, Any]) -> str:
    meta = entity.get("metadata") or {}
    return stringify_ref(str(entity.get("kind")), meta.get("namespace"), str(meta.get("name")))


def derive_relations(
    entity: Mapping[str, Any],
) -> tuple[list[RelationRow], list[FieldError]]:
    """Forward and reverse relation rows from a (valid) entity's spec, in Backstage's order.

    Unqualified refs take the field's default kind and the entity's own namespace. Refs that do
    not parse become errors; targets are not required to exist."""
    rows: list[RelationRow] = []
    errors: list[FieldError] = []
    spec = entity.get("spec") or {}
    self_ref = entity_ref_of(entity)
    namespace = (entity.get("metadata") or {}).get("namespace") or "default"
    for key, forward, reverse, default_kind in RELATION_FIELDS.get(str(entity.get("kind")), []):
        value = spec.get(key)
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        if key in _SORTED_FIELDS:
            items = sorted(items, key=str)
        for i, item in enumerate(items):
            path = f"spec.{key}" + (f".{i}" if isinstance(value, list) else "")
            try:
                target = parse_ref(item, default_kind=default_kind, default_namespace=namespace)
            except RefError as exc:
                hint = (
                    " (dependsOn/dependencyOf entries need a kind, e.g. component:name)"
                    if default_kind is None
                    else ""
                )
                errors.append(FieldError(path, f"{exc}{hint}"))
                continue
            target_ref = str(target)
            rows.append(RelationRow(self_ref, forward, target_ref))
            rows.append(RelationRow(target_ref, reverse, self_ref))
    return rows, errors


# --- Whole entity -------------------------------------------------------------------------------

_ROOT_KEYS = {"apiVersion", "kind", "metadata", "spec"}


def validate_envelope(entity: Any) -> list[FieldError]:
    """Envelope schema, no foreign root fields, and Backstage's field-format policy."""
    if not isinstance(entity, dict):
        return [FieldError("", f"expected a mapping at the document root, found {_show(entity)}")]
    errors: list[FieldError] = []
    for key in entity:
        if key not in _ROOT_KEYS and key not in ("relations", "status"):
            errors.append(
                FieldError(
                    str(key),
                    "unknown root field; an entity has only apiVersion, kind, metadata and spec",
                )
            )
    for key in ("apiVersion", "kind"):
        if key not in entity or entity[key] is None:
            errors.append(FieldError(key, "is required"))
        elif not isinstance(entity[key], str) or not entity[key]:
            errors.append(
                FieldError(key, f"must be a non-empty string, found {_show(entity[key])}")
            )
        else:
            rule = "api_version" if key == "apiVersion" else "kind"
            if not check_field(rule, entity[key]):
                errors.append(_format_error(key, rule, entity[key]))
    meta = entity.get("metadata")
    if meta is None:
        errors.append(FieldError("metadata", "is required (a mapping with at least a name)"))
        return errors
    if not isinstance(meta, dict):
        errors.append(FieldError("metadata", f"must be a mapping, found {_show(meta)}"))
        return errors
    if "spec" in entity and entity["spec"] is not None and not isinstance(entity["spec"], dict):
        errors.append(FieldError("spec", f"must be a mapping, found {_show(entity['spec'])}"))
    if meta.get("name") is None:
        errors.append(FieldError("metadata.name", "is required"))
    elif not is_valid_entity_name(meta["name"]):
        errors.append(_format_error("metadata.name", "entity_name", meta["name"]))
    if "namespace" in meta and not is_valid_namespace(meta["namespace"]):
        errors.append(_format_error("metadata.namespace", "namespace", meta["namespace"]))
    for key in ("title", "description", "uid", "etag"):
        if key in meta and not isinstance(meta[key], str):
            errors.append(
                FieldError(f"metadata.{key}", f"must be a string, found {_show(meta[key])}")
            )
    for section, key_rule, value_rule in (
        ("labels", "label_key", "label_value"),
        ("annotations", "annotation_key", "annotation_value"),
    ):
        values = meta.get(section)
        if values is None:
            continue
        if not isinstance(values, dict):
            errors.append(
                FieldError(f"metadata.{section}", f"must be a mapping, found {_show(values)}")
            )
            continue
        for k, v in values.items():
            if not check_field(key_rule, k):
                errors.append(
                    FieldError(
                        f"metadata.{section}", "key " + _format_error("", key_rule, k).message
                    )
                )
            elif not check_field(value_rule, v):
                errors.append(_format_error(f"metadata.{section}.{k}", value_rule, v))
    tags = meta.get("tags")
    if tags is not None:
        if not isinstance(tags, list):
            errors.append(FieldError("metadata.tags", f"must be a list, found {_show(tags)}"))
        else:
            for i, tag in enumerate(tags):
                if not is_valid_tag(tag):
                    errors.append(_format_error(f"metadata.tags.{i}", "tag", tag))
    links = meta.get("links")
    if links is not None:
        if not isinstance(links, list):
            errors.append(FieldError("metadata.links", f"must be a list, found {_show(links)}"))
        else:
            for i, link in enumerate(links):
                if not isinstance(link, dict):
                    errors.append(FieldError(f"metadata.links.{i}", "must be a mapping with a url"))
                    continue
                url = link.get("url")
                if not is_valid_url(url):
                    errors.append(_format_error(f"metadata.links.{i}.url", "link_url", url))
                elif not is_safe_link(url):
                    # Links are clicked in the portal: only schemes that open a page or a mail.
                    errors.append(
                        FieldError(
                            f"metadata.links.{i}.url",
                            f"{_show(url)} is not allowed: a link must be an http, https or "
                            f"mailto URL, not {link_scheme(str(url))}: (link_url rule)",
                        )
                    )
                for opt in ("title", "icon", "type"):
                    if opt in link and (not isinstance(link[opt], str) or not link[opt].strip()):
                        errors.append(
                            FieldError(f"metadata.links.{i}.{opt}", "must be a non-empty string")
                        )
    return errors


@dataclass
class Verdict:
    """The result of validating one document."""

    kind: str | None
    namespace: str
    name: str | None
    errors: list[FieldError]
    relations: list[RelationRow]

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def ref(self) -> str | None:
        if self.kind and self.name:
            return stringify_ref(self.kind, self.namespace, self.name)
        return None


def validate_entity(
    entity: Any,
    *,
    extra_kinds: Mapping[str, KindSchema] | None = None,
) -> Verdict:
    """Validate one document as Backstage would, plus reference syntax; collect every error.

    `extra_kinds` holds kinds the platform team registered (see catalog.models.ExtraKind)."""
    errors = validate_envelope(entity)
    kind = entity.get("kind") if isinstance(entity, dict) else None
    meta = entity.get("metadata") if isinstance(entity, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    name = meta.get("name") if isinstance(meta.get("name"), str) else None
    ns_value = meta.get("namespace")
    namespace: str = ns_value if isinstance(ns_value, str) else "default"
    relations: list[RelationRow] = []
    if isinstance(kind, str) and isinstance(entity, dict):
        schema = CORE_KINDS.get(kind) or (extra_kinds or {}).get(kind)
        if schema is None:
            known = sorted(CORE_KINDS) + sorted(extra_kinds or {})
            near = [k for k in known if k.lower() == kind.lower()]
            hint = f' Did you mean "{near[0]}"? Kinds are case-sensitive.' if near else ""
            errors.append(
                FieldError(
                    "kind",
                    f'unknown kind "{kind}"; the catalog accepts {", ".join(known)}.{hint} '
                    "Other kinds must be registered by the platform team (admin > Extra kinds).",
                )
            )
        else:
            validate_kind(entity, schema, errors)
            if not errors:
                relations, ref_errors = derive_relations(entity)
                errors.extend(ref_errors)
    return Verdict(
        kind=kind if isinstance(kind, str) else None,
        namespace=namespace,
        name=name,
        errors=errors,
        relations=relations,
    )


def iter_placeholders(value: Any, path: str = "") -> Iterable[tuple[str, str, Any]]:
    """(field path, placeholder key, argument) for each `$text`/`$json`/`$yaml` in `value`."""
    if _is_placeholder(value):
        key = next(iter(value))
        yield path, key, value[key]
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from iter_placeholders(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from iter_placeholders(v, f"{path}.{i}")
