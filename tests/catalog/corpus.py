"""Paths into the shared Backstage conformance corpus (../shared/corpus/backstage)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = [
    ROOT.parent / "shared" / "corpus" / "backstage",
    ROOT.parent.parent / "shared" / "corpus" / "backstage",
    Path("/work/shared/corpus/backstage"),
]
CORPUS = next((p for p in CANDIDATES if p.is_dir()), CANDIDATES[0])


def corpus_yaml(name: str) -> dict[str, Any]:
    """A derived-data file of the corpus (read with PyYAML: it is our fixture, not an entity)."""
    path = CORPUS / name
    if not path.exists():
        return {}
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data
