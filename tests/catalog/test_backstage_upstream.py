"""The vendored schemas and the verdict fixtures are exactly what Backstage's packages give:
both scripts are run again (bin/backstage-node installs the pinned packages when missing)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "catalog" / "schemas" / "backstage"
CASES = ROOT / "tests" / "catalog" / "backstage"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js 20+")


def _node(*args: str) -> None:
    subprocess.run([str(ROOT / "bin" / "backstage-node"), *args], check=True, cwd=ROOT,
                   timeout=600, capture_output=True)  # fmt: skip


def test_vendored_schemas_are_the_published_ones(tmp_path: Path) -> None:
    _node("refresh-schemas.cjs", "--out", str(tmp_path))
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*.json")}
    vendored = {p.relative_to(SCHEMAS): p.read_bytes() for p in SCHEMAS.rglob("*.json")}
    assert fresh == vendored


def test_verdict_fixtures_are_what_backstage_computes(tmp_path: Path) -> None:
    _node("verdicts.cjs", str(CASES / "cases.yaml"), str(tmp_path / "verdicts.json"))
    fresh = json.loads((tmp_path / "verdicts.json").read_text())
    assert fresh == json.loads((CASES / "verdicts.json").read_text())
