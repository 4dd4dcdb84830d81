"""Backstage's entity rules (no Django), fast enough for 10,000 documents.

The envelope and the built-in kinds are checked against the JSON Schemas Backstage publishes
(catalog.jsonschemas); around them, Backstage's entity policies are small functions here: default
namespace, no foreign root fields, field formats (KubernetesValidatorFunctions,
CommonValidatorFunctions, FieldFormatEntityPolicy), plus references (ref.ts, location/helpers.ts)
and relations. Sources: @backstage/catalog-model 1.10.3, see docs/catalog.md. Unlike Backstage,
which stops at the first failing field, we report every problem, each as "<field path>: <what is
wrong>".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from catalog.jsonschemas import CORE_KINDS, KindSchema, envelope, problems
from portal.lib.links import is_safe_link, link_scheme

__all__ = ["CORE_KINDS", "KindSchema"]

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

PLACEHOLDERS = ("$text", "$json", "$yaml")


def _is_placeholder(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in PLACEHOLDERS


def validate_kind(entity: Mapping[str, Any], schema: KindSchema, errors: list[FieldError]) -> None:
    """The kind's published schema (apiVersion, spec and its fields), every violation reported
    (except on fields already reported by the envelope)."""
    compiled = schema.compiled_for(entity)
    if compiled.accepts(entity):
        return
    reported = {e.path for e in errors}
    for problem in problems(compiled, entity, _show, kind=schema.kind):
        if problem.path not in reported:
            errors.append(FieldError(problem.path, problem.message))


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


class RelationRow(NamedTuple):
    """One relation row (a tuple: tens of thousands are built per refresh)."""

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
            try:
                target = parse_ref(item, default_kind=default_kind, default_namespace=namespace)
            except RefError as exc:
                path = f"spec.{key}" + (f".{i}" if isinstance(value, list) else "")
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


# --- Whole entity: the envelope schema and the policies around it --------------------------------

KNOWN_ROOT_FIELDS = ("apiVersion", "kind", "metadata", "spec")


def default_namespace(entity: Mapping[str, Any]) -> str:
    """DefaultNamespaceEntityPolicy: an entity without a namespace is in `default`."""
    meta = entity.get("metadata")
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    return namespace if isinstance(namespace, str) and namespace else "default"


def foreign_root_fields(entity: Mapping[str, Any], reported: set[str]) -> list[FieldError]:
    """NoForeignRootFieldsEntityPolicy: only apiVersion, kind, metadata and spec at the root.

    `relations` and `status` pass the envelope schema but are written by the catalog itself, so
    a document that carries them is refused like any other unknown field."""
    return [
        FieldError(
            str(key), "unknown root field; an entity has only apiVersion, kind, metadata and spec"
        )
        for key in entity
        if key not in KNOWN_ROOT_FIELDS and str(key) not in reported
    ]


def field_formats(entity: Mapping[str, Any], reported: set[str]) -> list[FieldError]:
    """FieldFormatEntityPolicy (makeValidator defaults), plus the portal's safe-link rule.

    Fields the envelope schema already refused (`reported`) are not reported twice. The checks
    are called directly (not through `check_field`): this runs for every document."""
    errors: list[FieldError] = []

    def bad(path: str, rule: str, value: object) -> None:
        if path not in reported:
            errors.append(_format_error(path, rule, value))

    if not is_valid_api_version(entity.get("apiVersion")):
        bad("apiVersion", "api_version", entity.get("apiVersion"))
    if not is_valid_kind(entity.get("kind")):
        bad("kind", "kind", entity.get("kind"))
    meta = entity.get("metadata")
    if not isinstance(meta, dict):
        return errors
    if not is_valid_entity_name(meta.get("name")):
        bad("metadata.name", "entity_name", meta.get("name"))
    if "namespace" in meta and not is_valid_namespace(meta["namespace"]):
        bad("metadata.namespace", "namespace", meta["namespace"])
    for section, key_ok, value_ok, key_rule, value_rule in (
        ("labels", is_valid_label_key, is_valid_label_value, "label_key", "label_value"),
        ("annotations", is_valid_annotation_key, is_valid_annotation_value,
         "annotation_key", "annotation_value"),
    ):  # fmt: skip
        values = meta.get(section)
        if not isinstance(values, dict):
            continue
        for k, v in values.items():
            if not key_ok(k):
                message = _format_error("", key_rule, k).message
                errors.append(FieldError(f"metadata.{section}", f"key {message}"))
            elif not value_ok(v):
                bad(f"metadata.{section}.{k}", value_rule, v)
    tags = meta.get("tags")
    for i, tag in enumerate(tags if isinstance(tags, list) else ()):
        if not is_valid_tag(tag):
            bad(f"metadata.tags.{i}", "tag", tag)
    links = meta.get("links")
    for i, link in enumerate(links if isinstance(links, list) else ()):
        if isinstance(link, dict):
            errors += _link_formats(f"metadata.links.{i}", link, reported)
    return errors


def _link_formats(path: str, link: Mapping[str, Any], reported: set[str]) -> list[FieldError]:
    errors: list[FieldError] = []
    url = link.get("url")
    if f"{path}.url" not in reported:
        if not is_valid_url(url):
            errors.append(_format_error(f"{path}.url", "link_url", url))
        elif not is_safe_link(url):
            # Links are clicked in the portal: only schemes that open a page or a mail.
            errors.append(
                FieldError(
                    f"{path}.url",
                    f"{_show(url)} is not allowed: a link must be an http, https or "
                    f"mailto URL, not {link_scheme(str(url))}: (link_url rule)",
                )
            )
    for opt in ("title", "icon"):
        value = link.get(opt)
        blank = not isinstance(value, str) or not value.strip()
        if opt in link and blank and f"{path}.{opt}" not in reported:
            errors.append(FieldError(f"{path}.{opt}", "must be a non-empty string"))
    return errors


def validate_envelope(entity: Any) -> list[FieldError]:
    """Backstage's entity policies in its order: the `Entity` schema, no foreign root fields,
    field formats. Unlike Backstage, which stops at the first, every problem is reported."""
    if not isinstance(entity, dict):
        return [FieldError("", f"expected a mapping at the document root, found {_show(entity)}")]
    checked = envelope()
    if checked.accepts(entity):
        errors: list[FieldError] = []
    else:
        errors = [
            FieldError(p.path, p.message)
            for p in problems(checked, entity, _show)
            # an unknown root field is worded once, by the policy below
            if not (p.keyword == "additionalProperties" and "." not in p.path)
        ]
    reported = {e.path for e in errors}
    errors += foreign_root_fields(entity, reported)
    errors += field_formats(entity, reported)
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
    namespace = default_namespace(entity) if isinstance(entity, dict) else "default"
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
