"""`${{ … }}` expressions, evaluated the way Backstage's scaffolder does, in a Jinja2 sandbox.

Backstage renders templates with Nunjucks. We keep its observable behaviour:

- a value that is exactly one expression keeps its JSON type (a list stays a list, `false` stays
  false); anything else renders to a string;
- the JavaScript-flavoured operators templates use (`===`, `!==`, `null`, `undefined`) work;
- the filters `parseRepoUrl`, `parseEntityRef`, `pick`, `projectSlug` and `dump` exist, plus
  Paved's `serviceHost` (the platform's host name pattern filled with a service and environment).

Everything runs in Jinja2's SandboxedEnvironment with extra limits: unsafe attribute access raises
instead of rendering empty, `range` and loops are bounded, string/list growth by `*` and `+` is
bounded and the rendered output has a maximum size. Any failure is an ExpressionError that names
where the expression came from (a step, an output link) and the expression itself.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs

from jinja2 import ChainableUndefined, Template, TemplateError, Undefined, pass_context
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

MAX_OUTPUT_CHARS = 200_000
MAX_ITERATIONS = 10_000
MAX_SEQUENCE = 100_000
MAX_TEMPLATE_CHARS = 100_000
MAX_CACHED_SOURCE = 20_000

_SINGLE = re.compile(r"^\s*\$\{\{(.*)\}\}\s*$", re.DOTALL)
# JavaScript operators mapped to Jinja ones, outside of string literals only.
_JS_TOKENS = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(===|!==)""")


class ExpressionError(ValueError):
    """An expression could not be evaluated; the message names where and which."""

    def __init__(self, message: str, *, where: str = "", expression: str = "") -> None:
        self.reason = message
        self.where = where
        self.expression = expression
        label = f"{where}: " if where else ""
        shown = expression if len(expression) <= 200 else expression[:200] + "…"
        super().__init__(f"{label}cannot evaluate {shown!r}: {message}")


class JsUndefined(ChainableUndefined):
    """Undefined that compares equal to null/undefined, like JavaScript's loose `==`."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return other is None or isinstance(other, Undefined)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = ChainableUndefined.__hash__


class _Budget:
    """Counts loop iterations of one evaluation, so nested loops cannot spin forever."""

    def __init__(self) -> None:
        self.iterations = 0

    def tick(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_ITERATIONS:
            raise SecurityError(f"more than {MAX_ITERATIONS} loop iterations")


def _size(value: Any) -> int:
    try:
        return len(value)
    except TypeError:
        return 0


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
    # Nunjucks prints objects as JSON inside a larger string; Python reprs would leak.
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(_to_native(value))
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class ScaffolderEnvironment(SandboxedEnvironment):
    """The sandbox with Paved's limits. One instance per delimiter style; thread-safe."""

    intercepted_binops = frozenset(["*", "**", "+"])

    def __init__(self, *, cookiecutter: bool = False) -> None:
        if cookiecutter:
            delimiters = {"variable_start_string": "{{", "variable_end_string": "}}"}
        else:
            delimiters = {"variable_start_string": "${{", "variable_end_string": "}}"}
        super().__init__(
            undefined=JsUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            finalize=_finalize_for_string,
            **delimiters,
        )
        self.filters.update(
            parseRepoUrl=parse_repo_url,
            parseEntityRef=parse_entity_ref,
            pick=pick,
            projectSlug=project_slug,
            serviceHost=service_host,
            dump=lambda value, indent=None: json.dumps(value, indent=indent, default=str),
        )
        self.globals.update(null=None, undefined=None, true=True, false=False)
        self.globals.pop("cycler", None)
        self.globals.pop("joiner", None)
        self.globals.pop("namespace", None)

    def unsafe_undefined(self, obj: Any, attribute: Any) -> Undefined:
        # The stock sandbox returns an Undefined that renders as "" — an SSTI probe would pass
        # silently. We refuse loudly instead.
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__} is unsafe")

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and right > 64:
                raise SecurityError("exponent too large")
            return left**right
        if operator == "*":
            count = right if isinstance(right, int) else left if isinstance(left, int) else 1
            other = left if isinstance(right, int) else right
            if _size(other) * max(int(count), 0) > MAX_SEQUENCE:
                raise SecurityError(f"result would be longer than {MAX_SEQUENCE}")
            return left * right
        result = left + right
        if _size(result) > MAX_SEQUENCE:
            raise SecurityError(f"result would be longer than {MAX_SEQUENCE}")
        return result


def environment(*, cookiecutter: bool = False) -> ScaffolderEnvironment:
    return _COOKIECUTTER_ENV if cookiecutter else _ENV


def _compiled_template(source: str, cookiecutter: bool) -> Template:
    """Compiling is the expensive part (~1 ms); the same skeleton and inputs recur per run.
    Only small sources are cached, so the cache stays small."""
    if len(source) > MAX_CACHED_SOURCE:
        return environment(cookiecutter=cookiecutter).from_string(_jsify(source))
    return _cached_template(source, cookiecutter)


@functools.lru_cache(maxsize=1024)
def _cached_template(source: str, cookiecutter: bool) -> Template:
    return environment(cookiecutter=cookiecutter).from_string(_jsify(source))


@functools.lru_cache(maxsize=1024)
def _compiled_expression(source: str) -> Any:
    return environment().compile_expression(_jsify(source), undefined_to_none=False)


def _jsify(source: str) -> str:
    """Turn `===`/`!==` (Nunjucks accepts them) into Jinja's `==`/`!=` outside strings."""

    def swap(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(1)
        return "==" if match.group(2) == "===" else "!="

    return _JS_TOKENS.sub(swap, source)


def _bounded_range(budget: _Budget) -> Any:
    def bounded(*args: int) -> Iterator[int]:
        span = range(*args)
        if len(span) > MAX_ITERATIONS:
            raise SecurityError(f"range() longer than {MAX_ITERATIONS}")
        for item in span:
            budget.tick()
            yield item

    return bounded


def _context(variables: Mapping[str, Any], budget: _Budget) -> dict[str, Any]:
    return {**variables, "range": _bounded_range(budget)}


def render_string(
    source: str, variables: Mapping[str, Any], *, where: str = "", cookiecutter: bool = False
) -> str:
    """Render `source` as a text template (skeleton files, names); always returns a string."""
    if len(source) > MAX_TEMPLATE_CHARS * 10:
        raise ExpressionError("template is too large", where=where, expression=source[:80])
    budget = _Budget()
    try:
        template = _compiled_template(source, cookiecutter)
        parts: list[str] = []
        total = 0
        for chunk in template.generate(_context(variables, budget)):
            total += len(chunk)
            if total > MAX_OUTPUT_CHARS * 50:
                raise SecurityError("rendered output is too large")
            parts.append(chunk)
        return "".join(parts)
    except (TemplateError, SecurityError, TypeError, ValueError, ArithmeticError) as exc:
        raise ExpressionError(_reason(exc), where=where, expression=source) from None
    except RecursionError:
        raise ExpressionError("too deeply nested", where=where, expression=source) from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SecurityError):
        return f"not allowed ({exc})"
    return f"{exc.__class__.__name__}: {exc}"


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
        budget = _Budget()
        try:
            expression = _compiled_expression(single.group(1))
            value = expression(**_context(variables, budget))
            if isinstance(value, Undefined) and not isinstance(value, ChainableUndefined):
                value._fail_with_undefined_error()
            native = _to_native(value)
            if isinstance(native, str) and len(native) > MAX_OUTPUT_CHARS:
                raise SecurityError("result is too large")
            if len(json.dumps(native, default=str)) > MAX_OUTPUT_CHARS:
                raise SecurityError("result is too large")
            return native
        except (TemplateError, SecurityError, TypeError, ValueError, ArithmeticError) as exc:
            raise ExpressionError(_reason(exc), where=where, expression=source) from None
        except RecursionError:
            raise ExpressionError("too deeply nested", where=where, expression=source) from None
    return render_string_value(source, variables, where=where)


def render_string_value(source: str, variables: Mapping[str, Any], *, where: str = "") -> str:
    budget = _Budget()
    try:
        template = _compiled_template(source, False)
        parts: list[str] = []
        total = 0
        for chunk in template.generate(_context(variables, budget)):
            total += len(chunk)
            if total > MAX_OUTPUT_CHARS:
                raise SecurityError("rendered value is too large")
            parts.append(chunk)
        return "".join(parts)
    except (TemplateError, SecurityError, TypeError, ValueError, ArithmeticError) as exc:
        raise ExpressionError(_reason(exc), where=where, expression=source) from None
    except RecursionError:
        raise ExpressionError("too deeply nested", where=where, expression=source) from None


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


def check_syntax(source: str, *, where: str = "") -> None:
    """Parse (not evaluate) every expression in `source`; used when a template is loaded."""
    if "${{" not in source:
        return
    try:
        single = _SINGLE.match(source)
        if single and "${{" not in single.group(1) and "}}" not in single.group(1):
            environment().parse("${{ " + _jsify(single.group(1)) + " }}")
        else:
            environment().parse(_jsify(source))
    except TemplateError as exc:
        raise ExpressionError(_reason(exc), where=where, expression=source) from None


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
