"""A realistic generated catalog: 200 groups, people, systems, components, APIs, resources."""

from __future__ import annotations

import random
from typing import Any

import yaml

WORDS = [
    "orders",
    "payments",
    "billing",
    "search",
    "catalog",
    "checkout",
    "identity",
    "inventory",
    "shipping",
    "pricing",
    "reviews",
    "ledger",
    "fraud",
    "notify",
    "media",
    "gateway",
    "profile",
    "session",
    "analytics",
    "report",
    "export",
    "import",
    "ranking",
    "feed",
    "cart",
    "wallet",
    "loyalty",
    "promo",
    "tax",
    "invoice",
    "refund",
]


def generate(total: int = 10_000, groups: int = 200, seed: int = 7) -> list[dict[str, Any]]:
    """`total` entities (groups and users included) with ~3 relations per entity on average."""
    rng = random.Random(seed)
    docs: list[dict[str, Any]] = []
    group_names = [f"team-{i:03d}" for i in range(groups)]
    for i, name in enumerate(group_names):
        spec: dict[str, Any] = {"type": "team", "children": []}
        if i:
            spec["parent"] = group_names[(i - 1) // 10]
        docs.append(_doc("Group", name, spec, description=f"Team {i}"))
    users = max(total // 10, 1)
    for i in range(users):
        docs.append(
            _doc(
                "User",
                f"user-{i:05d}",
                {
                    "memberOf": [rng.choice(group_names)],
                    "profile": {"email": f"user-{i:05d}@example.com"},
                },
            )
        )
    systems = [f"sys-{i:04d}" for i in range(total // 50)]
    for name in systems:
        docs.append(_doc("System", name, {"owner": rng.choice(group_names)}))
    remaining = total - len(docs)
    apis = [f"api-{i:05d}" for i in range(remaining // 5)]
    for name in apis:
        docs.append(
            _doc(
                "API",
                name,
                {
                    "type": "openapi",
                    "lifecycle": "production",
                    "owner": rng.choice(group_names),
                    "system": rng.choice(systems),
                    "definition": "openapi: 3.0.0\ninfo: {title: x, version: '1'}\npaths: {}\n",
                },
            )
        )
    components = [f"svc-{i:05d}" for i in range(total - len(docs))]
    for name in components:
        word = rng.choice(WORDS)
        docs.append(
            _doc(
                "Component",
                name,
                {
                    "type": rng.choice(["service", "website", "library"]),
                    "lifecycle": rng.choice(["production", "experimental", "deprecated"]),
                    "owner": rng.choice(group_names),
                    "system": rng.choice(systems),
                    "providesApis": [rng.choice(apis)],
                    "dependsOn": [f"component:{rng.choice(components)}"],
                },
                description=f"The {word} service: handles {word} for {rng.choice(WORDS)}.",
                tags=[word, rng.choice(["python", "go", "java"])],
            )
        )
    return docs


def _doc(kind: str, name: str, spec: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, **meta},
        "spec": spec,
    }


def dump(docs: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False, width=1000)


if __name__ == "__main__":
    import sys

    sys.stdout.write(dump(generate(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)))
