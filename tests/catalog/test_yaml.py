"""YAML read as Backstage reads it: 1.2 core schema, duplicate keys rejected."""

from __future__ import annotations

import pytest

from catalog.yamlio import YamlError, parse_documents


def test_yaml_1_2_scalars_stay_strings() -> None:
    doc = parse_documents("a: no\nb: off\nc: 2025-03-14\nd: yes\ne: 0o17\nf: 012\ng: true\nh: ~\n")
    assert doc[0].data == {"a": "no", "b": "off", "c": "2025-03-14", "d": "yes", "e": 15,
                           "f": 12, "g": True, "h": None}  # fmt: skip


def test_duplicate_keys_are_errors_with_position() -> None:
    with pytest.raises(YamlError, match=r"line 3, column 3: duplicate key 'name'"):
        parse_documents("metadata:\n  name: a\n  name: b\n")


def test_merge_keys_are_plain_keys() -> None:
    assert parse_documents("a: &x {b: 1}\nc:\n  <<: *x\n")[0].data["c"] == {"<<": {"b": 1}}


def test_multi_document_indexes_count_empty_documents() -> None:
    docs = parse_documents("a: 1\n---\n---\nb: 2\n")
    assert [(d.index, d.data) for d in docs] == [(0, {"a": 1}), (1, None), (2, {"b": 2})]
