"""Cut the vendors' API descriptions down to the operations Paved calls (and every schema they
reference), so the contract test vendors kilobytes, not megabytes. Re-run it to refresh a
description; `specs/SOURCES.md` says where each upstream file comes from.

    python -m tests.contracts.trim github  /path/to/api.github.com.json
    python -m tests.contracts.trim argocd  /path/to/assets/swagger.json
    python -m tests.contracts.trim pagerduty /path/to/reference/REST/openapiv3.json
    python -m tests.contracts.trim opsgenie /path/to/swagger.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SPECS = Path(__file__).parent / "specs"

# (method, path template) of every call Paved's providers make.
OPERATIONS: dict[str, list[tuple[str, str]]] = {
    "github": [
        ("get", "/rate_limit"),
        ("get", "/orgs/{org}"),
        ("get", "/orgs/{org}/installation"),
        ("post", "/app/installations/{installation_id}/access_tokens"),
        ("post", "/orgs/{org}/repos"),
        ("get", "/repos/{owner}/{repo}"),
        ("patch", "/repos/{owner}/{repo}"),
        ("put", "/repos/{owner}/{repo}/topics"),
        ("get", "/repos/{owner}/{repo}/git/ref/{ref}"),
        ("post", "/repos/{owner}/{repo}/git/refs"),
        ("patch", "/repos/{owner}/{repo}/git/refs/{ref}"),
        ("get", "/repos/{owner}/{repo}/git/commits/{commit_sha}"),
        ("post", "/repos/{owner}/{repo}/git/commits"),
        ("post", "/repos/{owner}/{repo}/git/blobs"),
        ("get", "/repos/{owner}/{repo}/git/blobs/{file_sha}"),
        ("post", "/repos/{owner}/{repo}/git/trees"),
        ("get", "/repos/{owner}/{repo}/git/trees/{tree_sha}"),
        ("get", "/repos/{owner}/{repo}/branches/{branch}"),
        ("put", "/repos/{owner}/{repo}/branches/{branch}/protection"),
        ("get", "/orgs/{org}/teams/{team_slug}"),
        ("put", "/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}"),
        ("get", "/repos/{owner}/{repo}/hooks"),
        ("post", "/repos/{owner}/{repo}/hooks"),
        ("get", "/repos/{owner}/{repo}/pulls"),
        ("post", "/repos/{owner}/{repo}/pulls"),
        ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
        ("patch", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ],
    "argocd": [
        ("get", "/api/v1/session/userinfo"),
        ("get", "/api/v1/applications/{name}"),
        ("post", "/api/v1/applications"),
    ],
    "pagerduty": [
        ("get", "/services"),
        ("post", "/services"),
        ("get", "/teams"),
        ("get", "/escalation_policies"),
    ],
    "opsgenie": [
        ("get", "/v2/teams/{identifier}"),
        ("post", "/v2/teams"),
        ("get", "/v2/schedules"),
        ("post", "/v2/schedules"),
    ],
}
# The vendor's generic error body, kept for answers an operation does not list (401, 5xx...).
ERROR_SCHEMAS = {
    "github": "#/components/schemas/basic-error",
    "argocd": "#/definitions/runtimeError",
    "pagerduty": "#/components/responses/Conflict/content/application~1json/schema",
    "opsgenie": "#/definitions/ErrorResponse",
}


def pointer(doc: Any, ref: str) -> Any:
    node = doc
    for part in ref.removeprefix("#/").split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def _unit(ref: str) -> list[str]:
    """The node a reference lives in, copied whole: a component, a definition, an operation."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in ref.removeprefix("#/").split("/")]
    return parts[:3] if parts[0] in ("components", "paths") else parts[:2]


def trim(vendor: str, doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        k: doc[k] for k in ("openapi", "swagger", "info", "basePath", "consumes", "produces")
        if k in doc
    }  # fmt: skip
    out["paths"] = {}
    for method, path in OPERATIONS[vendor]:
        item = doc["paths"][path]
        kept = out["paths"].setdefault(path, {k: v for k, v in item.items() if k == "parameters"})
        kept[method] = item[method]
    todo = _refs(out["paths"]) | {ERROR_SCHEMAS[vendor]}
    done: set[tuple[str, ...]] = set()
    while todo:
        ref = todo.pop()
        if not ref.startswith("#/"):
            continue
        unit = _unit(ref)
        if tuple(unit) in done:
            continue
        done.add(tuple(unit))
        src, node = doc, out
        for part in unit[:-1]:
            src = src[part]
            node = node.setdefault(part, {})
        node.setdefault(unit[-1], src[unit[-1]])
        todo |= _refs(src[unit[-1]])
    return out


def main() -> None:
    vendor, source = sys.argv[1], Path(sys.argv[2])
    doc = json.loads(source.read_text())
    trimmed = trim(vendor, doc)
    (SPECS / f"{vendor}.json").write_text(json.dumps(trimmed, indent=1, sort_keys=True) + "\n")
    print(
        f"{vendor}: {len(json.dumps(trimmed)) // 1024} KiB from {source.stat().st_size // 1024} KiB"
    )


if __name__ == "__main__":
    main()
