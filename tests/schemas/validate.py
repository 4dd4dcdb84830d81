"""Strict validation of the manifests Paved writes, against the real published schemas.

Core kinds go through `kubernetes-validate` (strict: unknown fields are errors). Custom kinds go
through the CRDs vendored under `tests/schemas/crds/` (see README.md there for where each came
from) the way an API server with `kubectl apply --validate=strict` treats them: structural
schema with unknown fields refused, defaults applied, then the CEL rules
(`x-kubernetes-validations`) evaluated. Claims and composite resources are validated against
the schema Crossplane generates from the XRD they belong to.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import cel
import jsonschema
import kubernetes_validate
import yaml

CRDS = Path(__file__).resolve().parent / "crds"
KUBERNETES_VERSION = "1.33"
# Which CRD folders make up one control plane. Crossplane's own CRDs differ between majors.
CROSSPLANE = {"v2": "crossplane-v2", "v1.20": "crossplane-v1.20"}
COMMON = ("argo-rollouts", "argo-cd", "gateway-api", "external-secrets")
# The managed resources the preset Compositions compose (opt in: large files).
AWS_PROVIDER = "provider-upjet-aws"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PATCH_AND_TRANSFORM_INPUT = ("pt.fn.crossplane.io", "v1beta1", "Resources")

_JSON_KEYWORDS = {
    "type", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
    "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "required", "minProperties",
    "maxProperties", "multipleOf",
}  # fmt: skip


class Invalid(AssertionError):
    pass


@dataclass
class Schema:
    """One served version of a custom kind: its OpenAPI schema as the CRD declares it."""

    openapi: dict[str, Any]
    scope: str  # Namespaced | Cluster
    source: str

    @property
    def json_schema(self) -> dict[str, Any]:
        return _to_json_schema(self.openapi, root=True)


def _load_crds(folder: Path) -> dict[tuple[str, str, str], Schema]:
    out: dict[tuple[str, str, str], Schema] = {}
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.load_all(path.read_text(), Loader=_LOADER):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for version in spec["versions"]:
                if not version.get("served", True):
                    continue
                key = (spec["group"], version["name"], spec["names"]["kind"])
                out[key] = Schema(
                    version["schema"]["openAPIV3Schema"],
                    spec.get("scope", "Namespaced"),
                    f"{folder.name}/{path.name}",
                )
    return out


@cache
def crd_set(*folders: str) -> dict[tuple[str, str, str], Schema]:
    out: dict[tuple[str, str, str], Schema] = {}
    for name in folders:
        out.update(_load_crds(CRDS / name))
    return out


def _to_json_schema(node: Mapping[str, Any], *, root: bool = False) -> dict[str, Any]:
    """An OpenAPI v3 structural schema as a JSON Schema that refuses unknown fields."""
    out: dict[str, Any] = {k: v for k, v in node.items() if k in _JSON_KEYWORDS}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if "properties" in node:
        props = dict(node["properties"])
        if root:
            # ObjectMeta: checked on its own, with the core schema.
            props["metadata"] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        out["properties"] = {k: _to_json_schema(v) for k, v in props.items()}
    if isinstance(node.get("items"), Mapping):
        out["items"] = _to_json_schema(node["items"])
    additional = node.get("additionalProperties")
    if isinstance(additional, Mapping):
        out["additionalProperties"] = _to_json_schema(additional)
    elif isinstance(additional, bool):
        out["additionalProperties"] = additional
    elif node.get("type") == "object" and not node.get("x-kubernetes-preserve-unknown-fields"):
        # Structural schemas prune what they do not declare; strict validation refuses it.
        out["additionalProperties"] = False
    for key in ("allOf", "anyOf", "oneOf"):
        if key in node:
            out.setdefault(key, [])
            out[key] = [*out[key], *(_to_json_schema(s) for s in node[key])]
    if "not" in node:
        out["not"] = _to_json_schema(node["not"])
    return out


def _apply_defaults(value: Any, node: Mapping[str, Any]) -> Any:
    """What the API server stores: declared defaults filled in, recursively."""
    if isinstance(value, dict):
        for name, sub in (node.get("properties") or {}).items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                value[name] = _apply_defaults(value[name], sub)
        additional = node.get("additionalProperties")
        if isinstance(additional, Mapping):
            for name in list(value):
                if name not in (node.get("properties") or {}):
                    value[name] = _apply_defaults(value[name], additional)
    elif isinstance(value, list) and isinstance(node.get("items"), Mapping):
        return [_apply_defaults(item, node["items"]) for item in value]
    return value


def _cel_context(value: Any) -> cel.Context:
    # The Kubernetes CEL string extensions the vendored CRDs use, beyond standard CEL.
    context = cel.Context()
    context.add_function("lowerAscii", lambda s: s.lower())
    context.add_function("upperAscii", lambda s: s.upper())
    context.add_variable("self", value)
    return context


def _cel_errors(value: Any, node: Mapping[str, Any], path: str) -> list[str]:
    errors: list[str] = []
    for rule in node.get("x-kubernetes-validations") or []:
        expression = rule["rule"]
        if "oldSelf" in expression:
            continue  # transition rules only apply to updates
        try:
            ok = cel.evaluate(expression, _cel_context(value))
        except Exception as exc:  # a rule we cannot evaluate must not pass silently
            errors.append(f"{path}: cannot evaluate CEL rule {expression!r}: {exc}")
            continue
        if ok is not True:
            message = rule.get("message") or f"failed rule: {expression}"
            errors.append(f"{path}: {message}")
    if isinstance(value, dict):
        props = node.get("properties") or {}
        additional = node.get("additionalProperties")
        for name, sub in value.items():
            if name in props:
                errors += _cel_errors(sub, props[name], f"{path}.{name}")
            elif isinstance(additional, Mapping):
                errors += _cel_errors(sub, additional, f"{path}.{name}")
    elif isinstance(value, list) and isinstance(node.get("items"), Mapping):
        for i, item in enumerate(value):
            errors += _cel_errors(item, node["items"], f"{path}[{i}]")
    return errors


def _schema_errors(obj: Mapping[str, Any], openapi: Mapping[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(_to_json_schema(openapi, root=True))
    out = []
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in error.absolute_path) or "(root)"
        out.append(f"{where}: {error.message}")
    return out


def _metadata_errors(obj: Mapping[str, Any]) -> list[str]:
    """ObjectMeta of a custom kind, checked with the core schema (through a ConfigMap shell)."""
    shell = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj.get("metadata") or {}}
    return _core_errors(shell)


def _core_errors(obj: Mapping[str, Any]) -> list[str]:
    try:
        kubernetes_validate.validate(dict(obj), KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path) or "(root)"
        return [f"{where}: {exc.message}"]
    return []


_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _name_errors(obj: Mapping[str, Any], scope: str | None) -> list[str]:
    """What the API server checks beyond the schema: names, namespaces, label values."""
    meta = obj.get("metadata") or {}
    errors = []
    name = meta.get("name", "")
    if not name or len(name) > 253 or not all(_DNS_LABEL.match(p) for p in name.split(".")):
        errors.append(f"metadata.name: {name!r} is not a valid name")
    if scope == "Cluster" and meta.get("namespace"):
        errors.append(f"metadata.namespace: {obj['kind']} is cluster-scoped")
    if meta.get("namespace") and not _DNS_LABEL.match(meta["namespace"]):
        errors.append(f"metadata.namespace: {meta['namespace']!r} is not a DNS label")
    for key, value in (meta.get("labels") or {}).items():
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            errors.append(f"metadata.labels.{key}: {value!r} is not a valid label value")
    return errors


# The fields Crossplane adds to every claim and XR it generates from an XRD (read from
# crossplane-runtime pkg/xcrd/schemas.go, v2.4; the v1.20 shapes are the LegacyCluster ones).
def _match_labels() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["matchLabels"],
        "properties": {
            "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}
        },
    }


def _named() -> dict[str, Any]:
    return {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}


def _machinery(*, claim: bool) -> dict[str, Any]:
    props: dict[str, Any] = {
        "compositionRef": _named(),
        "compositionSelector": _match_labels(),
        "compositionRevisionRef": _named(),
        "compositionRevisionSelector": _match_labels(),
        "compositionUpdatePolicy": {"type": "string", "enum": ["Automatic", "Manual"]},
    }
    if claim:
        props["compositeDeletePolicy"] = {"type": "string", "enum": ["Background", "Foreground"]}
        props["writeConnectionSecretToRef"] = _named()
    return props


@dataclass
class ControlPlane:
    """The CRDs of one cluster: Argo CD, Argo Rollouts, Gateway API, ESO, and one Crossplane."""

    crossplane: str = "v2"
    xrds: dict[tuple[str, str, str], Schema] = field(default_factory=dict)
    providers: tuple[str, ...] = ()  # provider CRD folders installed as well

    def schemas(self) -> dict[tuple[str, str, str], Schema]:
        return {**crd_set(*COMMON, CROSSPLANE[self.crossplane], *self.providers), **self.xrds}

    def install_xrd(self, xrd: Mapping[str, Any]) -> None:
        """Validate the XRD itself, then serve the kinds Crossplane generates from it."""
        self.check(xrd)
        spec = xrd["spec"]
        v2_api = xrd["apiVersion"].endswith("/v2")
        scope = spec.get("scope") or ("Namespaced" if v2_api else "LegacyCluster")
        for version in spec["versions"]:
            declared = copy.deepcopy(version["schema"]["openAPIV3Schema"])
            own = declared.get("properties", {}).get("spec", {"type": "object"})
            own.setdefault("properties", {})
            xr_spec = copy.deepcopy(own)
            if scope == "LegacyCluster":
                xr_spec["properties"].update(_machinery(claim=False))
                xr_spec["properties"]["claimRef"] = {"type": "object"}
                xr_spec["properties"]["writeConnectionSecretToRef"] = {
                    "type": "object",
                    "required": ["name", "namespace"],
                    "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}},
                }
            else:
                xr_spec["properties"]["crossplane"] = {
                    "type": "object",
                    "properties": _machinery(claim=False),
                }
            self.xrds[(spec["group"], version["name"], spec["names"]["kind"])] = Schema(
                _object_schema(xr_spec),
                "Namespaced" if scope == "Namespaced" else "Cluster",
                f"XRD {xrd['metadata']['name']}",
            )
            if "claimNames" in spec:
                claim_spec = copy.deepcopy(own)
                claim_spec["properties"].update(_machinery(claim=True))
                self.xrds[(spec["group"], version["name"], spec["claimNames"]["kind"])] = Schema(
                    _object_schema(claim_spec), "Namespaced", f"claim of {xrd['metadata']['name']}"
                )

    def errors(self, obj: Mapping[str, Any]) -> list[str]:
        api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        group, _, version = api_version.rpartition("/")
        schema = self.schemas().get((group, version, kind))
        if schema is None:  # core and built-in API groups, or nothing this cluster serves
            try:
                return _core_errors(obj) + _name_errors(obj, None)
            except kubernetes_validate.SchemaNotFoundError:
                return [f"no schema for {api_version} {kind}: not a kind this cluster serves"]
        stored = _apply_defaults(copy.deepcopy(dict(obj)), schema.openapi)
        errors = _schema_errors(stored, schema.openapi) + _metadata_errors(obj)
        errors += _name_errors(obj, schema.scope)
        errors += _cel_errors(stored, schema.openapi, "")
        if (group, kind) == ("apiextensions.crossplane.io", "Composition") and not errors:
            errors += self._function_input_errors(stored)
        return errors

    def _function_input_errors(self, composition: Mapping[str, Any]) -> list[str]:
        """function-patch-and-transform's input is opaque to the Composition CRD: check it with
        the function's own input CRD."""
        errors: list[str] = []
        schema = crd_set("function-patch-and-transform")[PATCH_AND_TRANSFORM_INPUT]
        for step in composition["spec"].get("pipeline") or []:
            if step["functionRef"]["name"] != "function-patch-and-transform":
                continue
            fn_input = step.get("input") or {}
            if (fn_input.get("apiVersion"), fn_input.get("kind")) != (
                "pt.fn.crossplane.io/v1beta1",
                "Resources",
            ):
                errors.append(f"step {step['step']}: input is not pt.fn.crossplane.io Resources")
                continue
            shell = {**fn_input, "metadata": {"name": "input"}}
            errors += [f"step {step['step']} input: {e}" for e in _schema_errors(
                _apply_defaults(copy.deepcopy(shell), schema.openapi), schema.openapi)]  # fmt: skip
        return errors

    def check(self, obj: Mapping[str, Any]) -> None:
        errors = self.errors(obj)
        if errors:
            name = (obj.get("metadata") or {}).get("name")
            raise Invalid(f"{obj.get('kind')} {name!r}:\n  " + "\n  ".join(errors))

    def check_all(self, objects: Iterable[Mapping[str, Any]]) -> int:
        count = 0
        for obj in objects:
            self.check(obj)
            count += 1
        return count


def _object_schema(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": dict(spec),
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    }
