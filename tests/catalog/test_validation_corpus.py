"""Backstage's own verdicts (validation-cases.yaml, expected-entity-verdicts.yaml,
expected-relations.yaml, computed by running @backstage/catalog-model) as parametrized tests."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest

from catalog.validation import (
    RefError,
    check_field,
    derive_relations,
    parse_location_ref,
    parse_ref,
    stringify_ref,
    validate_entity,
)
from catalog.yamlio import YamlError, parse_documents
from portal.lib.links import is_safe_link
from tests.catalog.corpus import CORPUS, corpus_yaml

CASES = corpus_yaml("validation-cases.yaml")
VERDICTS = corpus_yaml("expected-entity-verdicts.yaml")
RELATIONS = corpus_yaml("expected-relations.yaml")

BASE: dict[str, Any] = {
    "apiVersion": "backstage.io/v1alpha1",
    "kind": "Component",
    "metadata": {"name": "petstore"},
    "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"},
}


def _entity_with(field: str, value: Any) -> dict[str, Any] | None:
    """A valid entity with `value` put at `field`; None for fields only checked standalone."""
    entity = copy.deepcopy(BASE)
    meta = entity["metadata"]
    if field == "metadata.name":
        meta["name"] = value
    elif field == "metadata.namespace":
        meta["namespace"] = value
    elif field == "metadata.labels (key)":
        meta["labels"] = {value: "x"}
    elif field == "metadata.labels (value)":
        meta["labels"] = {"key": value}
    elif field == "metadata.annotations (key)":
        meta["annotations"] = {value: "x"}
    elif field == "metadata.annotations (value)":
        meta["annotations"] = {"example.com/key": value}
    elif field == "metadata.tags[]":
        meta["tags"] = [value]
    elif field == "metadata.links[].url":
        meta["links"] = [{"url": value}]
    else:
        return None
    return entity


@pytest.mark.parametrize("case", CASES.get("field_cases", []), ids=lambda c: c["id"])
def test_field_format_matches_backstage(case: dict[str, Any]) -> None:
    assert check_field(case["rule"], case["value"]) is case["valid"]
    entity = _entity_with(case["field"], case["value"])
    if entity is not None:
        verdict = validate_entity(entity)
        # Deliberately stricter than Backstage: links clicked in the portal must be http(s)
        # or mailto (docs/security.md), so other schemes Backstage accepts are refused.
        expected = case["valid"] and (case["rule"] != "link_url" or is_safe_link(case["value"]))
        assert verdict.valid is expected, [str(e) for e in verdict.errors]
        if not case["valid"]:
            # The error names the field and the rule in words.
            assert any(e.path.startswith(case["field"].split(" ")[0].split("[")[0])
                       for e in verdict.errors)  # fmt: skip


@pytest.mark.parametrize("case", CASES.get("entity_ref_cases", []), ids=lambda c: c["id"])
def test_entity_ref_parsing_matches_backstage(case: dict[str, Any]) -> None:
    context = case.get("context") or {}
    kwargs = {"default_kind": context.get("defaultKind"),
              "default_namespace": context.get("defaultNamespace")}  # fmt: skip
    if case["valid"]:
        parsed = parse_ref(case["input"], **kwargs)
        assert (parsed.kind, parsed.namespace, parsed.name) == (
            case["expected"]["kind"], case["expected"]["namespace"], case["expected"]["name"],
        )  # fmt: skip
    else:
        with pytest.raises(RefError) as info:
            parse_ref(case["input"], **kwargs)
        assert case["error_contains"] in str(info.value)


@pytest.mark.parametrize("case", CASES.get("stringify_entity_ref_cases", []), ids=lambda c: c["id"])
def test_stringify_ref_matches_backstage(case: dict[str, Any]) -> None:
    data = case["input"]
    meta = data.get("metadata", data)
    assert stringify_ref(data["kind"], meta.get("namespace"), meta["name"]) == case["expected"]


@pytest.mark.parametrize("case", CASES.get("location_ref_cases", []), ids=lambda c: c["id"])
def test_location_ref_matches_backstage(case: dict[str, Any]) -> None:
    if case["valid"]:
        parsed = parse_location_ref(case["input"])
        assert (parsed.type, parsed.target) == (
            case["expected"]["type"],
            case["expected"]["target"],
        )
    else:
        with pytest.raises(RefError) as info:
            parse_location_ref(case["input"])
        assert case["error_contains"] in str(info.value)


def _verdict_docs() -> list[tuple[str, int, dict[str, Any]]]:
    return [
        (entry["file"], i, doc)
        for entry in VERDICTS.get("files", [])
        for i, doc in enumerate(entry["documents"])
    ]


@pytest.mark.parametrize(("file", "index", "expected"), _verdict_docs(),
                         ids=lambda v: v if isinstance(v, str) else None)  # fmt: skip
def test_entity_verdicts_match_backstage(file: str, index: int, expected: dict[str, Any]) -> None:
    text = (CORPUS / file).read_bytes()
    try:
        docs = [d for d in parse_documents(text) if d.data is not None]
    except YamlError:
        # Only unrendered template skeletons may fail to parse.
        assert expected["verdict"] == "skeleton"
        return
    verdict = validate_entity(docs[index].data)
    if expected["verdict"] == "valid":
        assert verdict.valid, [str(e) for e in verdict.errors]
        kind, _, rest = expected["entity_ref"].partition(":")
        namespace, _, name = rest.partition("/")
        assert (verdict.kind, verdict.namespace, verdict.name) == (kind, namespace, name)
    else:
        # invalid, and skeletons (which are not valid entities until rendered)
        assert not verdict.valid
    if "first_error" in expected:
        first = expected["first_error"]
        field = first.split('"')[1] if first.startswith('"') else first.split(" ")[0]
        field = field.strip("/").replace("/", ".")
        assert verdict.errors[0].path == field, [str(e) for e in verdict.errors]


def _relation_files() -> list[str]:
    return list(RELATIONS.get("relations_by_file", {}))


@pytest.mark.parametrize("file", _relation_files())
def test_relations_match_backstage(file: str) -> None:
    expected = RELATIONS["relations_by_file"][file]
    rows = []
    for doc in parse_documents((CORPUS / file).read_bytes()):
        if doc.data is None:
            continue
        # Relations come after placeholder resolution in Backstage, so derive them directly.
        relations, errors = derive_relations(doc.data)
        assert not errors
        rows += [(r.source, r.type, r.target) for r in relations]
    assert rows == [(r["source"], r["type"], r["target"]) for r in expected]


def test_corpus_relations_total_is_100() -> None:
    if not RELATIONS:
        pytest.skip("corpus missing")
    total = Counter(r["type"] for rows in RELATIONS["relations_by_file"].values() for r in rows)
    assert sum(total.values()) == 100
