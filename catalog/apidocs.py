"""OpenAPI definitions turned into a readable summary for the API tab (no JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from catalog.yamlio import YamlError, load_one

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    parameters: list[str] = field(default_factory=list)
    responses: list[str] = field(default_factory=list)


@dataclass
class ApiSummary:
    title: str = ""
    version: str = ""
    description: str = ""
    servers: list[str] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)
    schemas: list[str] = field(default_factory=list)
    error: str = ""


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def summarize_openapi(definition: str) -> ApiSummary:
    """Title, servers, operations (method, path, summary, parameters, responses), schemas."""
    try:
        doc: Any = load_one(definition)
    except YamlError as exc:
        return ApiSummary(error=f"The definition is not valid YAML/JSON: {exc}")
    if not isinstance(doc, dict):
        return ApiSummary(
            error="The definition is not an OpenAPI document (no mapping at the top)."
        )
    info = _mapping(doc.get("info"))
    summary = ApiSummary(
        title=str(info.get("title", "")),
        version=str(info.get("version", "")),
        description=str(info.get("description", "")),
        servers=[str(s.get("url")) for s in doc.get("servers") or [] if isinstance(s, dict)],
    )
    paths = _mapping(doc.get("paths"))
    for path, item in paths.items():
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            params = [
                f"{p.get('name')} ({p.get('in')}{', required' if p.get('required') else ''})"
                for p in (item.get("parameters") or []) + (op.get("parameters") or [])
                if isinstance(p, dict) and "name" in p
            ]
            responses = [
                f"{code} {r.get('description', '') if isinstance(r, dict) else ''}".strip()
                for code, r in (op.get("responses") or {}).items()
            ]
            summary.operations.append(
                Operation(
                    method.upper(),
                    str(path),
                    str(op.get("summary") or op.get("operationId") or ""),
                    params,
                    responses,
                )
            )
    schemas = _mapping(_mapping(doc.get("components")).get("schemas"))
    summary.schemas = sorted(str(k) for k in schemas)
    return summary
