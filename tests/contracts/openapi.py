"""Check recorded HTTP exchanges against a vendor's API description (OpenAPI 3 or Swagger 2).

A request must be an operation the description lists (method and path), with only declared
query parameters and a JSON body the operation's schema accepts. A response must be valid for
its status (or, for a status the operation does not list, the vendor's generic error body); a
field the description never mentions is an error, because a fake that invents fields teaches the
provider to read something the real API never sends. Fields the description marks required may
be missing from a fake's response (the fakes answer only what Paved reads).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.contracts.trim import ERROR_SCHEMAS, pointer

SPECS = Path(__file__).parent / "specs"
BASE = "urn:paved-contract"


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    query: dict[str, Any]
    request_body: Any
    status: int
    response_body: Any


def _schema_nodes(node: Any, *, strip_required: bool) -> Any:
    """OpenAPI 3.0's `nullable` as JSON Schema; `required` dropped for responses."""
    if isinstance(node, list):
        return [_schema_nodes(v, strip_required=strip_required) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions", "schemas", "paths"):
            out[key] = {
                k: _schema_nodes(v, strip_required=strip_required) for k, v in value.items()
            } if isinstance(value, dict) else value  # fmt: skip
        elif (key == "required" and isinstance(value, list) and strip_required) or key in (
            "example",
            "examples",
            "x-github",
            "x-octokit",
        ):
            continue
        else:
            out[key] = _schema_nodes(value, strip_required=strip_required)
    if out.pop("nullable", False) is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if isinstance(out.get("enum"), list) and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    if out.get("type") == "file":  # Swagger 2
        out.pop("type")
    return out


class Contract:
    def __init__(self, vendor: str) -> None:
        self.vendor = vendor
        raw = json.loads((SPECS / f"{vendor}.json").read_text())
        self.doc = raw
        self.swagger2 = "swagger" in raw
        self._request_doc = _schema_nodes(copy.deepcopy(raw), strip_required=False)
        self._response_doc = _schema_nodes(copy.deepcopy(raw), strip_required=True)
        self._routes = [
            (method, self._pattern(path, greedy), path, greedy)
            for greedy in (False, True)
            for path, item in raw["paths"].items()
            for method in item
            if method in ("get", "post", "put", "patch", "delete")
        ]

    @staticmethod
    def _pattern(template: str, greedy: bool) -> re.Pattern[str]:
        """A path parameter is one segment; with `greedy` the last may hold slashes, as a git
        ref does (heads/main in /git/ref/{ref})."""
        parts = re.split(r"(\{[^}]+\})", template)
        regex = "".join(("(.+)" if greedy and i == len(parts) - 2 else "[^/]+")
                        if p.startswith("{") else re.escape(p)
                        for i, p in enumerate(parts))  # fmt: skip
        return re.compile(f"^{regex}$")

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        for greedy in (False, True):  # one-segment parameters first, then the greedy last one
            matches = [t for m, pattern, t, g in self._routes
                       if g == greedy and m == method.lower() and pattern.match(path)]  # fmt: skip
            if matches:  # the most literal template wins: /git/ref/{ref} over /{repo}
                template = max(matches, key=lambda t: len(re.sub(r"\{[^}]+\}", "", t)))
                return template, self.doc["paths"][template][method.lower()]
        return None

    def _validator(self, doc: dict[str, Any], ref: str) -> Draft202012Validator:
        registry: Registry = Registry().with_resource(
            BASE, Resource.from_contents(doc, default_specification=DRAFT202012)
        )
        return Draft202012Validator({"$ref": f"{BASE}{ref}"}, registry=registry)

    def _parameters(self, template: str, method: str) -> list[dict[str, Any]]:
        item = self.doc["paths"][template]
        params = [*item.get("parameters", []), *item[method].get("parameters", [])]
        return [pointer(self.doc, p["$ref"]) if "$ref" in p else p for p in params]

    def problems(self, exchange: Exchange) -> list[str]:
        where = f"{exchange.method} {exchange.path}"
        found = self.operation(exchange.method, exchange.path)
        if found is None:
            return [f"{where}: no such operation in the {self.vendor} API description"]
        template, op = found
        method = exchange.method.lower()
        base = f"#/paths/{template.replace('~', '~0').replace('/', '~1')}/{method}"
        problems: list[str] = []
        params = self._parameters(template, method)
        declared = {p["name"] for p in params if p.get("in") == "query"}
        for name in exchange.query:
            if name not in declared:
                problems.append(f"{where}: query parameter {name!r} is not in the description")
        request_ref = self._request_schema_ref(base, op, params)
        if exchange.request_body is not None:
            if request_ref is None:
                problems.append(f"{where}: sends a body the operation does not take")
            else:
                problems += self._check(self._request_doc, request_ref, exchange.request_body,
                                        f"{where} request")  # fmt: skip
        elif request_ref is not None and self._body_required(op, params):
            problems.append(f"{where}: the operation requires a request body")
        if exchange.response_body is not None:
            response_ref = self._response_schema_ref(base, op, exchange.status)
            if response_ref is not None:
                problems += self._check(self._response_doc, response_ref, exchange.response_body,
                                        f"{where} -> {exchange.status}")  # fmt: skip
        return problems

    def _request_schema_ref(
        self, base: str, op: dict[str, Any], params: list[dict[str, Any]]
    ) -> str | None:
        if self.swagger2:
            for i, p in enumerate(op.get("parameters", [])):
                if p.get("in") == "body":
                    return f"{base}/parameters/{i}/schema"
            return None
        body = op.get("requestBody")
        if body is None:
            return None
        if "$ref" in body:
            return f"{body['$ref']}/content/application~1json/schema"
        return f"{base}/requestBody/content/application~1json/schema"

    def _body_required(self, op: dict[str, Any], params: list[dict[str, Any]]) -> bool:
        if self.swagger2:
            return any(p.get("in") == "body" and p.get("required") for p in params)
        body = op.get("requestBody") or {}
        return bool(body.get("required"))

    def _response_schema_ref(self, base: str, op: dict[str, Any], status: int) -> str | None:
        responses = op.get("responses", {})
        key = str(status) if str(status) in responses else None
        if key is None:
            if status < 400:
                return f"{base}/responses/{status}"  # an undocumented success: reported below
            return ERROR_SCHEMAS[self.vendor]
        response = responses[key]
        ref = f"{base}/responses/{key}"
        if "$ref" in response:
            ref, response = response["$ref"], pointer(self.doc, response["$ref"])
        if self.swagger2:
            return f"{ref}/schema" if "schema" in response else None
        content = response.get("content") or {}
        media = next((m for m in content if "json" in m), None)
        if media is None:
            return None
        return f"{ref}/content/{media.replace('/', '~1')}/schema"

    def _check(self, doc: dict[str, Any], ref: str, instance: Any, where: str) -> list[str]:
        try:
            target = pointer(doc, ref)
        except (KeyError, IndexError, TypeError):
            return [f"{where}: the description documents no such answer"]
        problems = [
            f"{where}: {'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
            for e in sorted(self._validator(doc, ref).iter_errors(instance), key=str)
        ][:10]
        problems += [f"{where}: {p}" for p in _unknown_fields(doc, [target], instance, "")]
        return problems


def _resolve(doc: dict[str, Any], schema: Any, seen: int = 0) -> list[dict[str, Any]]:
    """The schema and every schema it is made of (refs, allOf/anyOf/oneOf), flattened."""
    if not isinstance(schema, dict) or seen > 40:
        return []
    if "$ref" in schema:
        return _resolve(doc, pointer(doc, schema["$ref"]), seen + 1)
    found = [schema]
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key) or []:
            found += _resolve(doc, part, seen + 1)
    return found


def _unknown_fields(doc: dict[str, Any], schemas: list[Any], instance: Any, at: str) -> list[str]:
    flat = [s for schema in schemas for s in _resolve(doc, schema)]
    if isinstance(instance, dict):
        props: dict[str, list[Any]] = {}
        open_ended: list[Any] = []
        closed = False
        for s in flat:
            for name, sub in (s.get("properties") or {}).items():
                props.setdefault(name, []).append(sub)
            extra = s.get("additionalProperties")
            if isinstance(extra, dict):
                open_ended.append(extra)
            elif extra is True:
                open_ended.append({})
            if "properties" in s:
                closed = True
        problems = []
        for key, value in instance.items():
            if key in props:
                problems += _unknown_fields(doc, props[key], value, f"{at}/{key}")
            elif open_ended:
                problems += _unknown_fields(doc, open_ended, value, f"{at}/{key}")
            elif closed:
                problems.append(f"{at}/{key}: a field the real API never returns or takes")
        return problems
    if isinstance(instance, list):
        items = [s["items"] for s in flat if isinstance(s.get("items"), dict)]
        return [
            p for i, v in enumerate(instance) for p in _unknown_fields(doc, items, v, f"{at}/{i}")
        ]
    return []


@cache
def contract(vendor: str) -> Contract:
    return Contract(vendor)
