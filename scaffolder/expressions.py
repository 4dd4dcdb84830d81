"""`${{ … }}` expressions, evaluated the way Backstage's scaffolder does, in a Jinja2 sandbox.

Backstage renders templates with Nunjucks. We keep its observable behaviour:

- a value that is exactly one expression keeps its JSON type (a list stays a list, `false` stays
  false); anything else renders to a string;
- the JavaScript-flavoured operators templates use (`===`, `!==`, `null`, `undefined`) work;
- the filters `parseRepoUrl`, `parseEntityRef`, `pick`, `projectSlug` and `dump` exist, plus
  Paved's `serviceHost` (the platform's host name pattern filled with a service and environment).

Templates may be written by anyone, and wizard pages evaluate them on every request, so one
evaluation is budgeted (`_Budget`, limits from the PAVED_EXPRESSION_* settings):

- every loop iteration and every call (macros, methods, `range`) counts against
  PAVED_EXPRESSION_MAX_ITERATIONS; recursive loops do not exist;
- no value may grow beyond PAVED_EXPRESSION_MAX_CHARS characters (strings, lists and objects
  counted deeply): `*`, `+`, `~`, `%`, filters and string methods are checked *before* they build
  their result, and every character an evaluation produces or feeds to a filter is counted;
- a wall-clock deadline (PAVED_EXPRESSION_TIMEOUT_MS) is checked at every iteration, call and
  filter, a backstop for what the counts miss;
- values are read-only (`pop`, `append`, `update`, … are refused) and there is no `lipsum`,
  `cycler`, `joiner` or `namespace`.

A breach raises ExpressionLimitExceeded naming the expression and the limit; any other failure
is an ExpressionError that names where the expression came from (a step, an output link) and
the expression itself.
"""

from __future__ import annotations

import functools
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from jinja2 import ChainableUndefined, Template, TemplateError, Undefined, nodes, pass_context
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, modifies_known_mutable
from jinja2.visitor import NodeTransformer

from scaffolder.nunjucks_compat import (
    js_add,
    js_dump,
    js_indent,
    js_join,
    js_member,
    js_output,
    js_str,
    js_string,
    js_title,
    js_truncate,
    now_filter,
)

MAX_TEMPLATE_CHARS = 100_000
MAX_CACHED_SOURCE = 20_000
# Exponents and products of integers: 4096 bits is far more than any template needs.
MAX_INT_BITS = 4096
# One evaluation may produce or feed to filters this many times the largest value: a value
# (`${{ }}`) ten times, a skeleton file fifty times (files are bigger).
VALUE_WORK_FACTOR = 10
FILE_WORK_FACTOR = 50
MAX_JSON_INDENT = 16

_SINGLE = re.compile(r"^\s*\$\{\{(.*)\}\}\s*$", re.DOTALL)
# JavaScript operators mapped to Jinja ones, outside of string literals only.
_JS_TOKENS = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(===|!==)""")
# A tag's inside may hold strings with `}}`/`%}`; text between tags is never rewritten.
_TAG_BODY = r"""(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^'"%}]|[%}](?!\}))*?"""
_TAGS = {
    False: re.compile(r"\$\{\{" + _TAG_BODY + r"\}\}|\{%" + _TAG_BODY + r"%\}", re.DOTALL),
    True: re.compile(r"\{\{" + _TAG_BODY + r"\}\}|\{%" + _TAG_BODY + r"%\}", re.DOTALL),
}
# A printf conversion: flags, width, precision (`%-10.3f`, `%*d`).
_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")


class ExpressionError(ValueError):
    """An expression could not be evaluated; the message names where and which."""

    def __init__(self, message: str, *, where: str = "", expression: str = "") -> None:
        self.reason = message
        self.where = where
        self.expression = expression
        label = f"{where}: " if where else ""
        shown = expression if len(expression) <= 200 else expression[:200] + "…"
        super().__init__(f"{label}cannot evaluate {shown!r}: {message}")


class ExpressionLimitExceeded(ExpressionError):
    """An expression went over one of the evaluation limits (work, size or time)."""


class _Breach(SecurityError):
    """Raised inside the sandbox; turned into ExpressionLimitExceeded at the entry points."""


@dataclass(frozen=True)
class Limits:
    iterations: int
    chars: int
    seconds: float

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            iterations=int(getattr(settings, "PAVED_EXPRESSION_MAX_ITERATIONS", 10_000)),
            chars=int(getattr(settings, "PAVED_EXPRESSION_MAX_CHARS", 200_000)),
            seconds=int(getattr(settings, "PAVED_EXPRESSION_TIMEOUT_MS", 1000)) / 1000,
        )


class _Budget:
    """What one evaluation has used so far: iterations and calls, characters, time."""

    __slots__ = ("chars", "deadline", "iterations", "limits", "work_limit")

    def __init__(self, limits: Limits, *, work_factor: int = VALUE_WORK_FACTOR) -> None:
        self.limits = limits
        self.iterations = 0
        self.chars = 0
        self.work_limit = limits.chars * work_factor
        self.deadline = time.monotonic() + limits.seconds
        shared = _SHARED_DEADLINE.get()
        if shared is not None:
            self.deadline = min(self.deadline, shared)

    def tick(self) -> None:
        self.iterations += 1
        if self.iterations > self.limits.iterations:
            raise _Breach(
                f"it runs more than {self.limits.iterations} loop iterations and calls "
                "(PAVED_EXPRESSION_MAX_ITERATIONS)"
            )
        self.check_time()

    def charge(self, chars: int) -> None:
        self.chars += chars
        if self.chars > self.work_limit:
            raise _Breach(
                f"it produces or processes more than {self.work_limit} characters "
                f"({self.work_limit // self.limits.chars} times PAVED_EXPRESSION_MAX_CHARS)"
            )
        self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise _Breach(
                f"it runs longer than {self.limits.seconds:g} s (PAVED_EXPRESSION_TIMEOUT_MS)"
            )

    def check_size(self, size: int, what: str) -> None:
        if size > self.limits.chars:
            raise _Breach(
                f"{what} more than {self.limits.chars} characters (PAVED_EXPRESSION_MAX_CHARS)"
            )


_BUDGET: ContextVar[_Budget | None] = ContextVar("paved_expression_budget", default=None)
_SHARED_DEADLINE: ContextVar[float | None] = ContextVar("paved_expression_deadline", default=None)


@contextmanager
def shared_time_limit() -> Iterator[None]:
    """Every expression evaluated inside shares one PAVED_EXPRESSION_TIMEOUT_MS: a wizard
    request evaluates one `when` per page, and many pages must not multiply the time."""
    if _SHARED_DEADLINE.get() is not None:
        yield
        return
    token = _SHARED_DEADLINE.set(time.monotonic() + Limits.from_settings().seconds)
    try:
        yield
    finally:
        _SHARED_DEADLINE.reset(token)


def _budget() -> _Budget:
    # Outside an evaluation (a direct call into the environment) each use gets a fresh budget,
    # so the per-value checks still hold.
    return _BUDGET.get() or _Budget(Limits.from_settings())


@contextmanager
def _budgeted(work_factor: int = VALUE_WORK_FACTOR) -> Iterator[_Budget]:
    budget = _Budget(Limits.from_settings(), work_factor=work_factor)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def deep_size(value: Any, stop: int) -> int:
    """Characters and items in `value`, counted through lists and objects (shared parts as
    often as they appear, as serialising would). Stops counting once past `stop`."""
    total = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, Mapping):
            total += len(item)
            if total <= stop:
                pending.extend(item.keys())
                pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += len(item)
            if total <= stop:
                pending.extend(item)
        elif isinstance(item, range):
            total += len(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3 + 1
        else:
            total += 1
        if total > stop:
            return total
    return total


def _checked(value: Any, what: str) -> Any:
    """Refuse a value larger than the limit; count it as produced; guard lazy sequences."""
    budget = _budget()
    if isinstance(value, str | list | tuple | Mapping | set | frozenset):
        size = deep_size(value, budget.limits.chars)
        budget.check_size(size, what)
        budget.charge(size)
        return value
    if isinstance(value, Iterator):
        return _counted(value, budget)
    budget.check_time()
    return value


def _counted(items: Iterable[Any], budget: _Budget) -> Iterator[Any]:
    """A lazy sequence (a filter's generator) whose items are counted as they are produced."""
    for count, item in enumerate(items, start=1):
        budget.charge(1)
        budget.check_size(count, "the sequence has")
        yield item


def _loop_items(items: Any) -> Iterator[Any]:
    budget = _budget()
    for item in items:
        budget.tick()
        yield item


class JsUndefined(ChainableUndefined):
    """Undefined that compares equal to null/undefined, like JavaScript's loose `==`."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return other is None or isinstance(other, Undefined)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = ChainableUndefined.__hash__


def _to_native(value: Any) -> Any:
    if isinstance(value, Undefined):
        return None
    if isinstance(value, Mapping):
        return {str(k): _to_native(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_native(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    raise SecurityError(f"an expression returned a {type(value).__name__}, not JSON data")


def _finalize_for_string(value: Any) -> Any:
    # Printed as JavaScript's String() prints it (`[object Object]`, `a,b`, `1`), as Nunjucks
    # does; Python reprs must never leak into a file.
    return js_output(value)


# --- guards the compiled templates call ------------------------------------------------------
# The parsed template is rewritten (`_Guard`) so that loops, output, `~` and assignments go
# through these. They take the context so Jinja never folds them at compile time.

_LOOP = "paved_loop__"
_OUTPUT = "paved_output__"
_CONCAT = "paved_concat__"
_BIND = "paved_bind__"


@pass_context
def _guard_loop(context: Context, items: Any) -> Iterator[Any]:
    return _loop_items(items)


@pass_context
def _guard_output(context: Context, value: Any) -> str:
    budget = _budget()
    if not isinstance(value, str):
        budget.check_size(deep_size(value, budget.limits.chars), "the output would be")
        value = _finalize_for_string(value)
    text = str(value)
    budget.check_size(len(text), "the output would be")
    budget.charge(len(text))
    return text


@pass_context
def _guard_concat(context: Context, parts: list[Any]) -> str:
    budget = _budget()
    size = sum(deep_size(p, budget.limits.chars) for p in parts)
    budget.check_size(size, "the expression joins strings (~) into")
    joined = "".join(js_str(p) for p in parts)
    _checked(joined, "the expression joins strings (~) into")
    return joined


@pass_context
def _guard_bind(context: Context, value: Any) -> Any:
    budget = _budget()
    budget.check_size(deep_size(value, budget.limits.chars), "the expression sets a value of")
    return value


def _wrap(node: nodes.Node, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


class _Guard(NodeTransformer):
    """Route loops, output, `~` and assignments of a parsed template through the guards."""

    def visit_For(self, node: nodes.For) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        if node.recursive:
            raise TemplateSyntaxError("recursive loops are not supported", node.lineno)
        node.iter = _wrap(node.iter, _LOOP)
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        # The skeleton's own text is bounded by the file size limit, not by the limit on
        # what one expression may produce: a large HTML file renders as it is.
        node.nodes = [
            child if isinstance(child, nodes.TemplateData) else _wrap(child, _OUTPUT)
            for child in node.nodes
        ]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        return _wrap(nodes.List(node.nodes, lineno=node.lineno), _CONCAT)

    def visit_Assign(self, node: nodes.Assign) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        node.node = _wrap(node.node, _BIND)
        return node

    def visit_With(self, node: nodes.With) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        node.values = [_wrap(value, _BIND) for value in node.values]
        return node


# --- filters and methods that build big results: estimate before building ------------------


def _int_arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str) -> int:
    value = args[index] if len(args) > index else kwargs.get(name, 0)
    return value if isinstance(value, int) else 0


def _text_arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str) -> str:
    value = args[index] if len(args) > index else kwargs.get(name, "")
    return value if isinstance(value, str) else str(value)


def _replace_size(text: str, old: str, new: str, count: int) -> int:
    hits = text.count(old) if old else len(text) + 1
    if count >= 0:
        hits = min(hits, count)
    return len(text) + hits * len(new)


def _join_size(items: list[Any], separator: str, budget: _Budget) -> int:
    total = len(separator) * max(len(items) - 1, 0)
    for item in items:
        total += deep_size(item, budget.limits.chars)
        if total > budget.limits.chars:
            break
    return total


def _printf_size(fmt: str, args: Any, budget: _Budget) -> int:
    """An upper bound of `fmt % args` (and the `format` filter): widths and the arguments."""
    total = len(fmt) + deep_size(args, budget.limits.chars)
    for match in _PRINTF.finditer(fmt):
        for number in match.groups():
            if number == "*":
                raise _Breach("a `*` width in a format string is not supported")
            if number:
                total += int(number) if len(number) < 10 else budget.limits.chars + 1
    return total


def _format_size(fmt: str, args: Any, budget: _Budget) -> int:
    """An upper bound of `fmt.format(...)`: the fields' widths and the arguments."""
    total = len(fmt) + deep_size(args, budget.limits.chars) * max(fmt.count("{"), 1)
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return total  # str.format raises the same error, with its own message
    for _text, _name, spec, _conversion in fields:
        if spec and "{" in spec:
            raise _Breach("a nested `{…}` width in a format string is not supported")
        for number in re.findall(r"\d+", spec or ""):
            total += int(number) if len(number) < 10 else budget.limits.chars + 1
    return total


def _materialise(items: Any, budget: _Budget) -> list[Any]:
    if isinstance(items, list):
        return items
    if isinstance(items, str | Mapping | tuple | set | frozenset | range):
        return list(items)
    return list(_counted(items, budget))


def _estimate_filter(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Check, before it runs, that a filter cannot build a value beyond the limit. Returns the
    value to pass on (a lazy sequence is read once, counted, into a list)."""
    budget = _budget()
    text = value if isinstance(value, str) else ""
    what = f"the filter `{name}` would build"
    if name == "center":
        budget.check_size(_int_arg(args, kwargs, 0, "width"), what)
    elif name == "indent":
        width = args[0] if args else kwargs.get("width", 4)
        pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        budget.check_size(len(text) + (text.count("\n") + 1) * pad, what)
    elif name == "wordwrap":
        wrap = _text_arg(args, kwargs, 2, "wrapstring") or "\n"
        budget.check_size(len(text) + (len(text) + 1) * (len(wrap) - 1), what)
    elif name == "replace":
        old, new = _text_arg(args, kwargs, 0, "old"), _text_arg(args, kwargs, 1, "new")
        count = args[2] if len(args) > 2 else kwargs.get("count")
        size = _replace_size(str(value), old, new, count if isinstance(count, int) else -1)
        budget.check_size(size, what)
    elif name == "join":
        value = _materialise(value, budget)
        budget.check_size(_join_size(value, _text_arg(args, kwargs, 0, "d"), budget), what)
    elif name == "format":
        budget.check_size(_printf_size(str(value), [args, kwargs], budget), what)
    elif name == "batch":
        budget.check_size(_int_arg(args, kwargs, 0, "linecount"), what)
    elif name == "slice":
        budget.check_size(_int_arg(args, kwargs, 0, "slices"), what)
    elif name in ("tojson", "dump"):
        indent = args[0] if args else kwargs.get("indent")
        if isinstance(indent, int) and indent > MAX_JSON_INDENT:
            raise _Breach(f"the filter `{name}` indents by more than {MAX_JSON_INDENT}")
    elif name == "sum":
        start = args[1] if len(args) > 1 else kwargs.get("start", 0)
        if not isinstance(start, int | float):
            raise _Breach("the filter `sum` adds numbers only")
    return value


# What a Jinja filter marked @pass_context / @pass_eval_context / @pass_environment gets first.
_PASS_ARGS: dict[str, Callable[[Context], Any]] = {
    "context": lambda context: context,
    "eval_context": lambda context: context.eval_ctx,
    "environment": lambda context: context.environment,
}


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """Every filter: refuse oversized input, estimate its result, count what it produced."""
    pass_arg = getattr(getattr(func, "jinja_pass_arg", None), "name", "")

    @pass_context
    @functools.wraps(func)
    def guarded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        if not isinstance(value, Iterator):
            size = deep_size(value, budget.limits.chars)
            budget.check_size(size, f"the filter `{name}` is given")
            budget.charge(size)
        value = _estimate_filter(name, value, args, kwargs)
        first = _PASS_ARGS.get(pass_arg)
        if first is None:
            result = func(value, *args, **kwargs)
        else:
            result = func(first(context), value, *args, **kwargs)
        return _checked(result, f"the filter `{name}` would build")

    return guarded


_STR_WIDTH_METHODS = {"center", "ljust", "rjust", "zfill"}


def _estimate_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Check, before it runs, that a string method cannot build a value beyond the limit."""
    target = getattr(obj, "__wrapped__", obj)  # str.format comes wrapped by the sandbox
    owner = getattr(target, "__self__", None)
    if not isinstance(owner, str):
        return
    budget = _budget()
    name = getattr(target, "__name__", "")
    what = f"the method `{name}` would build"
    if name in _STR_WIDTH_METHODS:
        budget.check_size(_int_arg(args, kwargs, 0, "width"), what)
    elif name == "expandtabs":
        tabsize = _int_arg(args, kwargs, 0, "tabsize") if args or kwargs else 8
        budget.check_size(len(owner) + owner.count("\t") * tabsize, what)
    elif name == "replace":
        old, new = _text_arg(args, kwargs, 0, "old"), _text_arg(args, kwargs, 1, "new")
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        budget.check_size(
            _replace_size(owner, old, new, count if isinstance(count, int) else -1), what
        )
    elif name == "join" and args:
        items = _materialise(args[0], budget)
        budget.check_size(_join_size(items, owner, budget), what)
    elif name in ("format", "format_map"):
        budget.check_size(_format_size(owner, [args, kwargs], budget), what)


class ScaffolderEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with Paved's limits. One instance per delimiter style; thread-safe."""

    intercepted_binops = frozenset(["*", "**", "+", "%"])

    def __init__(
        self, *, cookiecutter: bool = False, trim_blocks: bool = False, lstrip_blocks: bool = False
    ) -> None:
        if cookiecutter:
            delimiters = {"variable_start_string": "{{", "variable_end_string": "}}"}
        else:
            delimiters = {"variable_start_string": "${{", "variable_end_string": "}}"}
        super().__init__(
            undefined=JsUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            # fetch:template's trimBlocks/lstripBlocks, as Nunjucks' options of the same names.
            trim_blocks=trim_blocks,
            lstrip_blocks=lstrip_blocks,
            finalize=_finalize_for_string,
            **delimiters,
        )
        self.filters.update(
            parseRepoUrl=parse_repo_url,
            parseEntityRef=parse_entity_ref,
            pick=pick,
            projectSlug=project_slug,
            serviceHost=service_host,
            dump=js_dump,
            title=js_title,
            truncate=js_truncate,
            indent=js_indent,
            join=js_join,
            string=js_string,
            now=now_filter,
        )
        if cookiecutter:
            # SecureTemplater's cookiecutterCompat adds `jsonify`, an alias of `dump`.
            self.filters["jsonify"] = js_dump
        self.filters = {name: _guard_filter(name, func) for name, func in self.filters.items()}
        self.filters.update(
            {_LOOP: _guard_loop, _OUTPUT: _guard_output, _CONCAT: _guard_concat, _BIND: _guard_bind}
        )
        self.globals.update(null=None, undefined=None, true=True, false=False)
        for unsafe in ("lipsum", "cycler", "joiner", "namespace"):
            self.globals.pop(unsafe, None)

    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        # Both templates and single expressions (compile_expression) come through here.
        guarded = _Guard().visit(source)
        return super()._generate(guarded, name, filename, defer_init=defer_init)

    def unsafe_undefined(self, obj: Any, attribute: Any) -> Undefined:
        # The stock sandbox returns an Undefined that renders as "" — an SSTI probe would pass
        # silently. We refuse loudly instead.
        if isinstance(attribute, str) and modifies_known_mutable(obj, attribute):
            raise SecurityError(
                f"{type(obj).__name__}.{attribute}() would change a value; "
                "expressions may only read values"
            )
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__} is unsafe")

    def getattr(self, obj: Any, attribute: str) -> Any:
        # JavaScript members Backstage templates use: `s.length`, `s.toUpperCase()`, …
        if isinstance(obj, str | list | tuple):
            found, member = js_member(obj, attribute)
            if found:
                return _size_checked(obj, attribute, member)
        return super().getattr(obj, attribute)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        budget = _budget()
        budget.tick()
        for arg in (*args, *kwargs.values()):
            budget.check_size(deep_size(arg, budget.limits.chars), "a call is given")
        _estimate_call(__obj, args, kwargs)
        return _checked(super().call(__context, __obj, *args, **kwargs), "a call would build")

    def getitem(self, obj: Any, argument: Any) -> Any:
        value = super().getitem(obj, argument)
        if isinstance(argument, slice):
            return _checked(value, "a slice would be")
        return value

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = _budget()
        if operator == "**":
            if isinstance(right, int | float) and right > 64:
                raise _Breach("the exponent is larger than 64")
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and left.bit_length() * max(right, 0) > MAX_INT_BITS
            ):
                raise _Breach(f"the power would have more than {MAX_INT_BITS} bits")
            return left**right
        if operator == "*":
            if isinstance(left, int) and isinstance(right, int):
                if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                    raise _Breach(f"the product would have more than {MAX_INT_BITS} bits")
                return left * right
            if isinstance(right, int) or isinstance(left, int):
                count, other = (right, left) if isinstance(right, int) else (left, right)
                size = deep_size(other, budget.limits.chars) * max(int(count), 0)
                budget.check_size(size, "the expression repeats a string or list")
            return _checked(left * right, "the expression repeats a string or list")
        if operator == "%":
            if isinstance(left, str):
                budget.check_size(_printf_size(left, right, budget), "the `%` format would build")
                return _checked(left % right, "the `%` format would build")
            return left % right
        if not (isinstance(left, int | float) and isinstance(right, int | float)):
            size = deep_size(left, budget.limits.chars) + deep_size(right, budget.limits.chars)
            budget.check_size(size, "the expression adds (+) up to")
        # JavaScript's `+`: `undefined + '/'` is "undefined/", a list plus text joins with commas.
        return _checked(js_add(left, right), "the expression adds (+) up to")


def environment(
    *, cookiecutter: bool = False, trim_blocks: bool = False, lstrip_blocks: bool = False
) -> ScaffolderEnvironment:
    if not (trim_blocks or lstrip_blocks):
        return _COOKIECUTTER_ENV if cookiecutter else _ENV
    return _whitespace_environment(cookiecutter, trim_blocks, lstrip_blocks)


@functools.lru_cache(maxsize=8)
def _whitespace_environment(
    cookiecutter: bool, trim_blocks: bool, lstrip_blocks: bool
) -> ScaffolderEnvironment:
    return ScaffolderEnvironment(
        cookiecutter=cookiecutter, trim_blocks=trim_blocks, lstrip_blocks=lstrip_blocks
    )


# (cookiecutter, trim_blocks, lstrip_blocks)
Style = tuple[bool, bool, bool]


def _compiled_template(source: str, style: Style) -> Template:
    """Compiling is the expensive part (~1 ms); the same skeleton and inputs recur per run.
    Only small sources are cached, so the cache stays small."""
    if len(source) > MAX_CACHED_SOURCE:
        return _compile(source, style)
    return _cached_template(source, style)


def _compile(source: str, style: Style) -> Template:
    cookiecutter, trim_blocks, lstrip_blocks = style
    env = environment(
        cookiecutter=cookiecutter, trim_blocks=trim_blocks, lstrip_blocks=lstrip_blocks
    )
    return env.from_string(_jsify(source, cookiecutter))


@functools.lru_cache(maxsize=1024)
def _cached_template(source: str, style: Style) -> Template:
    return _compile(source, style)


@functools.lru_cache(maxsize=1024)
def _compiled_expression(source: str) -> Any:
    return environment().compile_expression(_jsify_expression(source), undefined_to_none=False)


def _swap(match: re.Match[str]) -> str:
    if match.group(1):
        return match.group(1)
    return "==" if match.group(2) == "===" else "!="


def _jsify_expression(source: str) -> str:
    """Turn `===`/`!==` (Nunjucks accepts them) into Jinja's `==`/`!=` outside strings."""
    return _JS_TOKENS.sub(_swap, source)


def _jsify(source: str, cookiecutter: bool = False) -> str:
    """`===`/`!==` rewritten inside `${{ }}` and `{% %}` tags only: the text around them (a
    TypeScript file's `a === b`) is left byte for byte as it is."""
    if "==" not in source:
        return source
    return _TAGS[cookiecutter].sub(lambda m: _jsify_expression(m.group(0)), source)


def _size_checked(obj: Any, name: str, member: Any) -> Any:
    """`replaceAll` can multiply a string's size: estimate before it builds."""
    if name not in ("replaceAll", "replace") or not isinstance(obj, str):
        return member

    def checked(old: Any = "", new: Any = "") -> Any:
        count = -1 if name == "replaceAll" else 1
        size = _replace_size(obj, js_str(old), js_str(new), count)
        _budget().check_size(size, f"the method `{name}` would build")
        return member(old, new)

    return checked


def _bounded_range(*args: int) -> range:
    span = range(*args)
    limit = _budget().limits.iterations
    if len(span) > limit:
        raise _Breach(f"range() is longer than {limit} (PAVED_EXPRESSION_MAX_ITERATIONS)")
    return span


def _context(variables: Mapping[str, Any]) -> dict[str, Any]:
    return {**variables, "range": _bounded_range}


def _failure(exc: BaseException, where: str, source: str) -> ExpressionError:
    """The one place sandbox failures become messages."""
    if isinstance(exc, _Breach):
        return ExpressionLimitExceeded(f"over a limit: {exc}", where=where, expression=source)
    if isinstance(exc, RecursionError):
        return ExpressionLimitExceeded("too deeply nested", where=where, expression=source)
    if isinstance(exc, MemoryError):
        return ExpressionLimitExceeded("out of memory", where=where, expression=source)
    if isinstance(exc, SecurityError):
        return ExpressionError(f"not allowed ({exc})", where=where, expression=source)
    return ExpressionError(f"{exc.__class__.__name__}: {exc}", where=where, expression=source)


# What a sandboxed evaluation may raise on hostile or broken input; anything else is our bug.
_FAILURES = (
    TemplateError,
    SecurityError,
    TypeError,
    ValueError,
    ArithmeticError,
    LookupError,
    AttributeError,
    RuntimeError,
    MemoryError,
)


def _render(source: str, variables: Mapping[str, Any], style: Style, factor: int) -> str:
    with _budgeted(factor):
        template = _compiled_template(source, style)
        return "".join(template.generate(_context(variables)))


def render_string(
    source: str,
    variables: Mapping[str, Any],
    *,
    where: str = "",
    cookiecutter: bool = False,
    trim_blocks: bool = False,
    lstrip_blocks: bool = False,
) -> str:
    """Render `source` as a text template (skeleton files, names); always returns a string."""
    if len(source) > MAX_TEMPLATE_CHARS * 10:
        raise ExpressionError("template is too large", where=where, expression=source[:80])
    try:
        style = (cookiecutter, trim_blocks, lstrip_blocks)
        return _render(source, variables, style, FILE_WORK_FACTOR)
    except _FAILURES as exc:
        raise _failure(exc, where, source) from None


def evaluate(source: str, variables: Mapping[str, Any], *, where: str = "") -> Any:
    """Evaluate one template value the Backstage way.

    A string that is a single `${{ expr }}` returns the expression's JSON value; any other
    string with expressions renders to a string; strings without `${{` come back unchanged.
    """
    if "${{" not in source and "{%" not in source:
        return source
    if len(source) > MAX_TEMPLATE_CHARS:
        raise ExpressionError("expression is too long", where=where, expression=source[:80])
    single = _SINGLE.match(source)
    if single and "${{" not in single.group(1) and "}}" not in single.group(1):
        try:
            with _budgeted() as budget:
                expression = _compiled_expression(single.group(1))
                value = expression(**_context(variables))
                if isinstance(value, Undefined) and not isinstance(value, ChainableUndefined):
                    value._fail_with_undefined_error()
                budget.check_size(deep_size(value, budget.limits.chars), "the result is")
                return _to_native(value)
        except _FAILURES as exc:
            raise _failure(exc, where, source) from None
    return render_string_value(source, variables, where=where)


def render_string_value(source: str, variables: Mapping[str, Any], *, where: str = "") -> str:
    try:
        return _render(source, variables, (False, False, False), VALUE_WORK_FACTOR)
    except _FAILURES as exc:
        raise _failure(exc, where, source) from None


def evaluate_data(value: Any, variables: Mapping[str, Any], *, where: str = "") -> Any:
    """Evaluate every string in a JSON structure. Keys whose single expression is undefined
    are dropped, as Backstage drops `undefined` inputs."""
    if isinstance(value, str):
        return evaluate(value, variables, where=where)
    if isinstance(value, list):
        return [evaluate_data(item, variables, where=where) for item in value]
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            resolved = evaluate_data(item, variables, where=f"{where}.{key}" if where else key)
            if resolved is None and isinstance(item, str) and _SINGLE.match(item):
                continue
            out[str(key)] = resolved
        return out
    return value


def is_truthy(value: Any) -> bool:
    """Backstage's `if`: false, undefined, null, "", 0 and [] are false."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "null", "undefined")
    return bool(value)


def is_single_expression(source: str) -> bool:
    """The whole value is one `${{ … }}` (it keeps its JSON type)."""
    single = _SINGLE.match(source)
    return single is not None and "${{" not in single.group(1) and "}}" not in single.group(1)


def parse(source: str) -> nodes.Template | None:
    """The parsed form of a template value (None when it has no expression); raises
    TemplateError on a syntax error."""
    if "${{" not in source and "{%" not in source:
        return None
    single = _SINGLE.match(source)
    if single and is_single_expression(source):
        return environment().parse("${{ " + _jsify_expression(single.group(1)) + " }}")
    return environment().parse(_jsify(source))


def check_syntax(source: str, *, where: str = "") -> None:
    """Parse (not evaluate) every expression in `source`; used when a template is loaded."""
    if "${{" not in source:
        return
    try:
        parse(source)
    except TemplateError as exc:
        raise _failure(exc, where, source) from None


# --- filters ---------------------------------------------------------------------------------


def parse_repo_url(value: Any) -> dict[str, str]:
    """`github.com?owner=o&repo=r` -> {host, owner, repo, ...} (Backstage's parseRepoUrl)."""
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"parseRepoUrl needs a string like 'github.com?owner=o&repo=r', got {value!r}"
        )
    text = value.split("://", 1)[-1]
    host, _, query = text.partition("?")
    if not host:
        raise ValueError(f"no host in repo URL {value!r}")
    params = {k: v[0] for k, v in parse_qs(query).items() if v}
    result = {"host": host}
    for key in ("owner", "repo", "organization", "workspace", "project"):
        if params.get(key):
            result[key] = params[key]
    if "repo" not in result:
        raise ValueError(f"repo URL {value!r} has no repo= parameter")
    if "owner" not in result and "project" not in result and "workspace" not in result:
        raise ValueError(f"repo URL {value!r} has no owner= parameter")
    return result


def parse_entity_ref(value: Any, options: Mapping[str, Any] | None = None) -> dict[str, str]:
    """`kind:namespace/name` with defaults -> {kind, namespace, name}."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"parseEntityRef needs an entity reference string, got {value!r}")
    options = options or {}
    ref = value.strip()
    kind = ""
    if ":" in ref:
        kind, ref = ref.split(":", 1)
    namespace = ""
    if "/" in ref:
        namespace, ref = ref.split("/", 1)
    kind = kind or str(options.get("defaultKind") or "")
    namespace = namespace or str(options.get("defaultNamespace") or "default")
    if not kind:
        raise ValueError(f"entity reference {value!r} has no kind and no defaultKind was given")
    if not ref:
        raise ValueError(f"entity reference {value!r} has no name")
    return {"kind": kind, "namespace": namespace, "name": ref}


def pick(value: Any, path: str) -> Any:
    """lodash `get`: `obj | pick('a.b')`."""
    current = value
    for part in str(path).replace("[", ".").replace("]", "").split("."):
        if not part:
            continue
        if isinstance(current, Mapping):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def project_slug(value: Any) -> str:
    """`github.com?owner=o&repo=r` -> `o/r`."""
    parsed = parse_repo_url(value)
    return f"{parsed.get('owner') or parsed.get('project') or parsed.get('workspace')}/{parsed['repo']}"


_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@pass_context
def service_host(context: Any, name: Any, environment: Any = "") -> str:
    """`name | serviceHost(environment)`: `platform.hostPattern` with `{name}` and
    `{environment}` filled in. Both must be DNS labels, so the result is a valid host name."""
    platform = context.get("platform")
    pattern = platform.get("hostPattern") if isinstance(platform, Mapping) else None
    if not isinstance(pattern, str) or "{name}" not in pattern:
        raise ValueError("serviceHost needs platform.hostPattern (PAVED_SERVICE_HOST_PATTERN)")
    values = {"name": name, "environment": environment}
    for key, value in values.items():
        if f"{{{key}}}" in pattern and not (isinstance(value, str) and _DNS_LABEL.match(value)):
            raise ValueError(
                f"serviceHost: {key} {value!r} is not a DNS label (lower-case letters, digits, "
                "dashes)"
            )
    host = pattern.replace("{name}", str(name)).replace("{environment}", str(environment or ""))
    if len(host) > 253:
        raise ValueError(f"serviceHost: {host!r} is longer than 253 characters")
    return host


_ENV = ScaffolderEnvironment()
_COOKIECUTTER_ENV = ScaffolderEnvironment(cookiecutter=True)
