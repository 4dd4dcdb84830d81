"""YAML read the way Backstage reads it: YAML 1.2 core schema, duplicate keys are errors.

PyYAML implements YAML 1.1, where `no`/`off` are booleans and `2025-03-14` is a date; Backstage
(the `yaml` npm package) uses the 1.2 core schema, where both stay strings. We keep libyaml's C
parser for speed (10,000 documents in a few hundred milliseconds) and swap only the resolvers and
the mapping constructor, which run in Python either way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError

_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_FILE_BYTES = 8 * 1024 * 1024  # files larger than this are refused, not parsed


class Yaml12Loader(_Base):
    """SafeLoader with YAML 1.2 core schema resolvers and duplicate-key detection."""

    yaml_implicit_resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise ConstructorError(
                None, None, f"expected a mapping, found {node.id}", node.start_mark
            )
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                raise ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    "a mapping key must be a plain value, not a list or mapping",
                    key_node.start_mark,
                ) from None
            if key in mapping:
                raise ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {key!r} (each key may appear only once)",
                    key_node.start_mark,
                )
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


def _construct_int(loader: Yaml12Loader, node: yaml.ScalarNode) -> int:
    value = str(loader.construct_scalar(node))
    if value.startswith("0o"):
        return int(value[2:], 8)
    if value.startswith("0x"):
        return int(value[2:], 16)
    return int(value, 10)


def _construct_float(loader: Yaml12Loader, node: yaml.ScalarNode) -> float:
    value = str(loader.construct_scalar(node)).lower()
    if value.endswith(".inf"):
        return float("-inf") if value.startswith("-") else float("inf")
    if value == ".nan":
        return float("nan")
    return float(value)


def _construct_bool(loader: Yaml12Loader, node: yaml.ScalarNode) -> bool:
    return str(loader.construct_scalar(node)).lower() == "true"


Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
Yaml12Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
Yaml12Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
Yaml12Loader.add_constructor("tag:yaml.org,2002:map", Yaml12Loader.construct_yaml_map)
# The 1.1-only tags (timestamp, merge, binary, omap, set, ...) keep PyYAML's constructors but are
# only reached when written explicitly (`!!timestamp`); nothing resolves to them implicitly.

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?(?:\.inf|\.Inf|\.INF)|\.nan|\.NaN|\.NAN)$"
    ),
    list("-+0123456789."),
)


@dataclass(frozen=True)
class YamlDocument:
    """One document of a (possibly multi-document) YAML file."""

    index: int  # 0-based position in the file, counting null documents too
    data: Any
    line: int  # 1-based line where the document starts


class YamlError(ValueError):
    """The text is not YAML we accept; the message says where and why."""


def _describe(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "?"
    return f"YAML error at {where}: {problem}"


_NULL = re.compile(r"(?:~|null|Null|NULL|)")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?(?:\.inf|\.Inf|\.INF)"
    r"|\.nan|\.NaN|\.NAN"
)
_STR_TAG = "tag:yaml.org,2002:str"
_FIRST_CHARS = set("~nNtTfF-+0123456789.")


class _FastLoader(_Base):
    """Composes nodes in C; tags are left to `_build` (faster than PyYAML's resolver)."""

    yaml_implicit_resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            return "?plain" if implicit[0] else _STR_TAG
        return "tag:yaml.org,2002:map" if kind is yaml.MappingNode else "tag:yaml.org,2002:seq"


def _scalar(node: yaml.ScalarNode) -> Any:
    value: str = node.value
    tag = node.tag
    if tag == "?plain":
        if not value or value[0] in _FIRST_CHARS:
            if _NULL.fullmatch(value):
                return None
            if value in _BOOL:
                return _BOOL[value]
            if _INT.fullmatch(value):
                if value.startswith("0o"):
                    return int(value[2:], 8)
                if value.startswith("0x"):
                    return int(value[2:], 16)
                return int(value, 10)
            if _FLOAT.fullmatch(value):
                low = value.lower()
                if low.endswith(".inf"):
                    return float("-inf") if low.startswith("-") else float("inf")
                return float("nan") if low == ".nan" else float(value)
        return value
    if tag == "tag:yaml.org,2002:int":
        return int(value, 0) if value[:2] in ("0x", "0o") else int(value)
    if tag == "tag:yaml.org,2002:float":
        return float(value)
    if tag == "tag:yaml.org,2002:bool":
        return value.lower() == "true"
    if tag == "tag:yaml.org,2002:null":
        return None
    return value  # !!str and unknown tags keep the text


def _build(node: yaml.Node, memo: dict[int, Any]) -> Any:
    """Node graph -> Python values; duplicate keys raise; aliases share values."""
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    key = id(node)
    if key in memo:
        return memo[key]
    if isinstance(node, yaml.SequenceNode):
        seq: list[Any] = []
        memo[key] = seq
        seq.extend(_build(item, memo) for item in node.value)
        return seq
    mapping: dict[Any, Any] = {}
    memo[key] = mapping
    for key_node, value_node in node.value:
        k = _build(key_node, memo)
        try:
            hash(k)
        except TypeError:
            raise ConstructorError(
                "while reading a mapping", node.start_mark,
                "a mapping key must be a plain value, not a list or mapping", key_node.start_mark,
            ) from None  # fmt: skip
        if k in mapping:
            raise ConstructorError(
                "while reading a mapping", node.start_mark,
                f"duplicate key {k!r} (each key may appear only once)", key_node.start_mark,
            )  # fmt: skip
        mapping[k] = _build(value_node, memo)
    return mapping


def parse_documents(text: str | bytes) -> list[YamlDocument]:
    """Every document in `text` (null documents included, so indexes match the file).

    Raises YamlError for syntax errors and duplicate keys, naming line and column."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise YamlError(
                f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from exc
    loader = _FastLoader(text)
    docs: list[YamlDocument] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            line = node.start_mark.line + 1 if node is not None else 1
            data = _build(node, {}) if node is not None else None
            docs.append(YamlDocument(index=len(docs), data=data, line=line))
    except yaml.YAMLError as exc:
        raise YamlError(_describe(exc)) from exc
    except RecursionError:
        raise YamlError("YAML error: the document nests too deeply") from None
    finally:
        loader.dispose()
    return docs


def load_one(text: str | bytes) -> Any:
    """A single YAML (or JSON) value, with the same 1.2 rules; used for `$yaml`/`$json`."""
    docs = parse_documents(text)
    return docs[0].data if docs else None
