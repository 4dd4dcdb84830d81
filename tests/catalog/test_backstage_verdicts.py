"""Paved against Backstage's own verdicts (tests/catalog/backstage/verdicts.json, computed by
running Backstage's packages on cases.yaml): same entities read, same warnings, same verdicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from catalog.checking import check_text
from catalog.validation import validate_entity
from catalog.yamlio import parse_documents

VERDICTS = json.loads((Path(__file__).parent / "backstage" / "verdicts.json").read_text())
CASES: list[dict[str, Any]] = VERDICTS["cases"]


def test_verdicts_come_from_the_pinned_backstage_packages() -> None:
    assert VERDICTS["computed_with"]["@backstage/catalog-model"] == "1.10.3"
    assert VERDICTS["computed_with"]["@backstage/plugin-scaffolder-common"] == "2.4.0"
    classes = {c["class"] for c in CASES}
    assert {"foreign root field", "empty metadata.title", "template output",
            "non-scalar key"} <= classes  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_paved_reads_and_judges_like_backstage(case: dict[str, Any]) -> None:
    docs = [d for d in parse_documents(case["text"]) if d.data is not None]
    expected = case["documents"]
    assert len(docs) == len(expected)
    for doc, want in zip(docs, expected, strict=True):
        # The same entity, key for key (YAML 1.2 scalars, keys in their string form).
        assert doc.data == want["entity"]
        verdict = validate_entity(doc.data)
        assert verdict.valid is want["valid"], [str(e) for e in verdict.errors]
        if want.get("error_path"):
            # Backstage stops at its first error; Paved names that field among its errors.
            assert want["error_path"] in [e.path for e in verdict.errors], verdict.errors
        for error in verdict.errors:
            assert error.message
            assert "Traceback" not in error.message
    # A list or mapping used as a key: Backstage warns and reads on; so does Paved.
    assert bool(case["yaml_warnings"]) is any(d.warnings for d in docs)


def test_backstage_keys_reach_the_validate_command_as_warnings_not_failures() -> None:
    case = next(c for c in CASES if c["id"] == "flow-mapping-key")
    [report] = check_text("template.yaml", case["text"])
    assert report.valid, report.errors
    assert report.warnings == [
        "line 14, column 18: a mapping is used as a mapping key; it was read as the text "
        '"{ gitlab_hostname }" (as Backstage reads it). Quote the key if that is what you mean.'
    ]
