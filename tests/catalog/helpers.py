"""Build catalogs for page/API tests through the real ingestion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from catalog.ingestion import FILE, Target
from catalog.services import refresh_location, register_location


def component(name: str, owner: str = "team-orders", **spec: Any) -> dict[str, Any]:
    meta = spec.pop("metadata", {})
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": name,
            "description": f"The {name} service",
            "tags": ["python"],
            **meta,
        },
        "spec": {"type": "service", "lifecycle": "production", "owner": owner, **spec},
    }


def ingest_docs(tmp_path: Path, docs: list[dict[str, Any]], name: str = "catalog.yaml") -> Any:
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return refresh_location(location=register_location(target=Target(FILE, str(path)), actor=None))


def push_repo(host: Any, owner: str, name: str, files: dict[str, bytes]) -> None:
    """Create (or update) a repository on the git host with exactly `files`."""
    repo, _ = host.ensure_repository(owner, name)
    host.commit_files(repo, files, message="catalog files", delete_missing=True)
