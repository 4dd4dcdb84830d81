"""How Nunjucks (JavaScript) turns values into text, and the filters whose output differs from
Jinja's, so that skeletons render to the same bytes as in Backstage.

Backstage renders with Nunjucks 3.2.4 (SecureTemplater); Paved renders with a Jinja sandbox and
these functions supply JavaScript's answers where the two disagree: `String(value)` (objects
print `[object Object]`, lists join with commas, `1.0` prints `1`), `+` on mixed values
(`undefined + '/'` is `"undefined/"`), `JSON.stringify` for `dump`, and the filters `title`,
`truncate`, `indent`, `join`, `string`, plus the community `now` filter. Checked byte for byte
against real Nunjucks by tests/scaffolder/compat.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any

from jinja2 import Undefined


def js_number(value: float | int) -> str:
    """`String(n)` for a JavaScript number: no `.0`, exponents from 1e21 and below 1e-6."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if abs(value) < 10**21:
            return str(value)
        value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" not in text:
        if abs(value) >= 1e-6:
            return text
        text = f"{value:.17e}"
        mantissa, exponent = text.split("e")
        shortest = repr(float(f"{mantissa}e{exponent}"))
        text = shortest if "e" in shortest else f"{float(mantissa):g}e{exponent}"
    mantissa, exponent = text.split("e")
    if mantissa.endswith(".0"):
        mantissa = mantissa[:-2]
    sign = "-" if exponent.startswith("-") else "+"
    return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"


def js_str(value: Any) -> str:
    """JavaScript's `String(value)`: what `+` and `~` join with."""
    if isinstance(value, str):
        return value
    if isinstance(value, Undefined):
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool | int | float):
        return js_number(value)
    if isinstance(value, Mapping):
        return "[object Object]"
    if isinstance(value, list | tuple):
        return ",".join("" if v is None or isinstance(v, Undefined) else js_str(v) for v in value)
    return str(value)


def js_output(value: Any) -> str:
    """What `${{ value }}` prints: null and undefined print nothing (Nunjucks' suppressValue)."""
    if value is None or isinstance(value, Undefined):
        return ""
    return js_str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _to_number(value: Any) -> float | int:
    if isinstance(value, bool):
        return int(value)
    if _is_number(value):
        return value  # type: ignore[no-any-return]
    if value is None:
        return 0
    return math.nan  # undefined, and strings/objects never reach here


def js_add(left: Any, right: Any) -> Any:
    """JavaScript's `+`: strings, lists and objects concatenate as text; otherwise numbers."""
    if _is_number(left) and _is_number(right):
        return left + right
    textual = (str, list, tuple, Mapping)
    if isinstance(left, textual) or isinstance(right, textual):
        return js_str(left) + js_str(right)
    return _to_number(left) + _to_number(right)


def _json_ready(value: Any) -> Any:
    """JSON.stringify's view: undefined members vanish, undefined in a list becomes null,
    integral floats are integers."""
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items() if not isinstance(v, Undefined)}
    if isinstance(value, list | tuple):
        return [None if isinstance(v, Undefined) else _json_ready(v) for v in value]
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        if value.is_integer() and abs(value) < 1e21:
            return int(value)
    return value


def js_dump(value: Any, indent: Any = None) -> str | None:
    """Nunjucks `dump` (JSON.stringify): no ASCII escaping, no spaces without an indent.
    Undefined dumps to nothing."""
    if isinstance(value, Undefined):
        return None
    spaces: int | str | None = None
    if isinstance(indent, bool):
        spaces = None
    elif isinstance(indent, int | float) and indent >= 1:
        spaces = min(int(indent), 10)
    elif isinstance(indent, str) and indent:
        spaces = indent[:10]
    separators = (",", ": ") if spaces is not None else (",", ":")
    return json.dumps(
        _json_ready(value), ensure_ascii=False, indent=spaces, separators=separators, default=str
    )


def _text(value: Any) -> str:
    return "" if value is None or isinstance(value, Undefined) else js_str(value)


def js_title(value: Any) -> str:
    """Capitalise each space-separated word; the rest of the word goes lower case."""
    return " ".join(w[:1].upper() + w[1:].lower() for w in _text(value).split(" "))


def js_truncate(
    value: Any, length: int = 255, killwords: bool = False, end: Any = None, leeway: Any = None
) -> str:
    """Nunjucks `truncate`: cut at `length` (at the last space before it unless killwords)."""
    text = _text(value)
    if len(text) <= length:
        return text
    if killwords:
        text = text[:length]
    else:
        cut = text.rfind(" ", 0, length + 1)
        text = text[: cut if cut != -1 else length]
    return text + (js_str(end) if end is not None else "...")


def js_indent(value: Any, width: Any = 4, indentfirst: bool = False) -> str:
    """Nunjucks `indent`: every line but the first (blank lines too) gets `width` spaces."""
    text = _text(value)
    if text == "":
        return ""
    pad = " " * (width if isinstance(width, int) and width else 4)
    lines = text.split("\n")
    return "\n".join(
        line if index == 0 and not indentfirst else pad + line for index, line in enumerate(lines)
    )


def js_join(value: Any, delimiter: Any = "", attribute: Any = None) -> str:
    """Nunjucks `join`: items joined as JavaScript prints them."""
    items = list(value)
    if attribute:
        items = [item.get(attribute) if isinstance(item, Mapping) else None for item in items]
    sep = js_str(delimiter) if delimiter else ""
    return sep.join("" if v is None or isinstance(v, Undefined) else js_str(v) for v in items)


def js_string(value: Any) -> str:
    """Nunjucks `string`: JavaScript's String(value); undefined and null print nothing."""
    return _text(value)


def now_filter(value: Any = None) -> int:
    """`${{ '' | now }}` (a community filter): milliseconds since the epoch, as Date.now()."""
    return int(time.time() * 1000)


# JavaScript members of strings and lists that Backstage templates use in expressions.
def _js_replace(text: str) -> Any:
    def replace(old: Any, new: Any) -> str:
        return text.replace(js_str(old), js_str(new), 1)

    return replace


STRING_MEMBERS: dict[str, Any] = {
    "toUpperCase": lambda s: lambda: s.upper(),
    "toLowerCase": lambda s: lambda: s.lower(),
    "trim": lambda s: lambda: s.strip(),
    "trimStart": lambda s: lambda: s.lstrip(),
    "trimEnd": lambda s: lambda: s.rstrip(),
    "replaceAll": lambda s: lambda old, new: s.replace(js_str(old), js_str(new)),
    "includes": lambda s: lambda part: js_str(part) in s,
    "startsWith": lambda s: lambda part: s.startswith(js_str(part)),
    "endsWith": lambda s: lambda part: s.endswith(js_str(part)),
    "indexOf": lambda s: lambda part: s.find(js_str(part)),
    "substring": lambda s: (
        lambda start, end=None: s[
            max(0, int(start)) : (len(s) if end is None else max(0, int(end)))
        ]
    ),
    "slice": lambda s: (
        lambda start=0, end=None: s[int(start) : (None if end is None else int(end))]
    ),
    "charAt": lambda s: lambda index=0: s[int(index)] if 0 <= int(index) < len(s) else "",
    "concat": lambda s: lambda *parts: s + "".join(js_str(p) for p in parts),
    "toString": lambda s: lambda: s,
}

LIST_MEMBERS: dict[str, Any] = {
    "includes": lambda items: lambda item: item in items,
    "indexOf": lambda items: lambda item: items.index(item) if item in items else -1,
    "toString": lambda items: lambda: js_str(items),
}


def js_member(obj: Any, name: str) -> tuple[bool, Any]:
    """A JavaScript member of a string or list (`s.length`, `s.toUpperCase()`), if any."""
    if isinstance(obj, str):
        if name == "length":
            return True, len(obj)
        if name == "replace":
            return True, _js_replace(obj)
        if name == "split":
            return True, lambda sep=None: [obj] if sep is None else _js_split(obj, js_str(sep))
        if name in STRING_MEMBERS:
            return True, STRING_MEMBERS[name](obj)
    elif isinstance(obj, list | tuple):
        if name == "length":
            return True, len(obj)
        if name == "join":
            return True, lambda sep=",": js_join(obj, sep if sep is not None else ",")
        if name in LIST_MEMBERS:
            return True, LIST_MEMBERS[name](obj)
    return False, None


def _js_split(text: str, sep: str) -> list[str]:
    return list(text) if sep == "" else text.split(sep)
