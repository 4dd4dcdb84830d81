"""YAML read the way Backstage reads it: YAML 1.2 core schema, duplicate keys are errors, keys
are strings.

PyYAML implements YAML 1.1, where `no`/`off` are booleans and `2025-03-14` is a date; Backstage
(the `yaml` npm package) uses the 1.2 core schema, where both stay strings. We keep libyaml's C
parser for speed (10,000 documents in a few hundred milliseconds): it composes the nodes, and our
own code turns them into values (`_build`), as the `yaml` package's `toJSON()` would.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError

_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_FILE_BYTES = 8 * 1024 * 1024  # files larger than this are refused, not parsed


@dataclass(frozen=True)
class YamlDocument:
    """One document of a (possibly multi-document) YAML file."""

    index: int  # 0-based position in the file, counting null documents too
    data: Any
    line: int  # 1-based line where the document starts
    warnings: tuple[str, ...] = ()  # read, but not as written (see _build)


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


def _js_number(value: float) -> str:
    """How JavaScript writes a number (the key Backstage's YAML reader makes of `1.0: x`)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        text = f"{mantissa.removesuffix('.0')}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
    return text


def _key_text(value: Any) -> str:
    """A scalar key as the JavaScript object key Backstage ends up with."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if abs(value) < 10**21 else _js_number(float(value))
    if isinstance(value, float):
        return _js_number(value)
    return str(value)


def _flow(node: yaml.Node, source: str) -> str:
    """A collection key written back in YAML flow style, as the `yaml` npm package writes it
    when it turns such a key into a string: `{ a: 1, b }`, `[ x, "y" ]`; scalars as written."""
    if isinstance(node, yaml.ScalarNode):
        if node.style == "'":
            return "'" + str(node.value).replace("'", "''") + "'"
        if node.style in ('"', "|", ">"):
            return json.dumps(node.value, ensure_ascii=False)
        return str(node.value)
    if isinstance(node, yaml.SequenceNode):
        items = [_flow(item, source) for item in node.value]
        start, end = "[", "]"
    else:
        items = []
        for key_node, value_node in node.value:
            key = _flow(key_node, source)
            if isinstance(value_node, yaml.ScalarNode) and value_node.value == "":
                # `{ a }` (no value written) and `{ a: }` (an empty one) are kept apart
                between = source[key_node.end_mark.index : value_node.start_mark.index]
                items.append(f"{key}:" if ":" in between else key)
            else:
                items.append(f"{key}: {_flow(value_node, source)}")
        start, end = "{", "}"
    if not items:
        return start + end
    if sum(len(item) + 2 for item in items) + 2 > 80:  # the package's line width
        return start + "\n  " + ",\n  ".join(items) + "\n" + end
    return f"{start} {', '.join(items)} {end}"


def _build(node: yaml.Node, memo: dict[int, Any], warnings: list[str], source: str) -> Any:
    """Node graph -> Python values; duplicate keys raise; aliases share values.

    Keys become strings, as in Backstage (a JavaScript object has only string keys): `1` is
    "1", `true` is "true", `~` is "". A list or mapping used as a key becomes its flow-style
    text with a warning, where PyYAML would give up on the whole file."""
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    key = id(node)
    if key in memo:
        return memo[key]
    if isinstance(node, yaml.SequenceNode):
        seq: list[Any] = []
        memo[key] = seq
        seq.extend(_build(item, memo, warnings, source) for item in node.value)
        return seq
    mapping: dict[str, Any] = {}
    memo[key] = mapping
    seen: set[tuple[str, Any]] = set()
    for key_node, value_node in node.value:
        identity: tuple[str, Any]
        if isinstance(key_node, yaml.ScalarNode):
            k = _scalar(key_node)
            # Compared by value as the `yaml` package does: `1` and `1.0` are the same key,
            # `1` and `true` are not (they are in a Python dict).
            identity = (type(k).__name__ if isinstance(k, bool | str) or k is None else "n", k)
            text = _key_text(k)
        else:
            text = _flow(key_node, source)
            identity = ("c", text)
            mark = key_node.start_mark
            shape = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
            warnings.append(
                f"line {mark.line + 1}, column {mark.column + 1}: a {shape} is used as a "
                f"mapping key; it was read as the text {json.dumps(text)} (as Backstage "
                "reads it). Quote the key if that is what you mean."
            )
        if identity in seen:
            raise ConstructorError(
                "while reading a mapping", node.start_mark,
                f"duplicate key {text!r} (each key may appear only once)", key_node.start_mark,
            )  # fmt: skip
        seen.add(identity)
        mapping[text] = _build(value_node, memo, warnings, source)
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
            warnings: list[str] = []
            data = _build(node, {}, warnings, text) if node is not None else None
            docs.append(YamlDocument(len(docs), data, line, tuple(warnings)))
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
