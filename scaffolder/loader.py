"""Load and validate Backstage `scaffolder.backstage.io/v1beta3` templates.

Everything a run needs is checked here, before anything runs: the envelope, JSON Schema pages,
step ids, known actions, expression syntax and outputs. Problems carry the template file and the
line of the offending node, from a YAML loader that remembers where each mapping and value came
from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from portal.lib.links import is_safe_link
from runs.registry import step_kinds
from scaffolder.expressions import ExpressionError, check_syntax
from scaffolder.parameters import secret_parameter_names
from scaffolder.secret_flow import elsewhere_problems, input_problems
from scaffolder.steps.unsupported import unsupported_reason

API_VERSION = "scaffolder.backstage.io/v1beta3"
MAX_TEMPLATE_BYTES = 512 * 1024


class LineDict(dict[str, Any]):
    """A mapping that remembers its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class LineList(list[Any]):
    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:  # type: ignore[override]
        mapping = LineDict(super().construct_mapping(node, deep=True))  # type: ignore[arg-type]
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {str(key.value): key.start_mark.line + 1 for key, _value in node.value}
        return mapping

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LineList:
        items = LineList(super().construct_sequence(node, deep=True))
        items.line = node.start_mark.line + 1
        items.item_lines = [child.start_mark.line + 1 for child in node.value]
        return items


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping
)
_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _LineLoader.construct_sequence
)


def _line_of(container: Any, key: str | int | None = None) -> int:
    if isinstance(container, LineDict):
        if key is not None and str(key) in container.key_lines:
            return container.key_lines[str(key)]
        return container.line
    if isinstance(container, LineList):
        if isinstance(key, int) and key < len(container.item_lines):
            return container.item_lines[key]
        return container.line
    return 0


def plain(value: Any) -> Any:
    """Strip line bookkeeping: plain dicts and lists, safe for JSONField."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Problem:
    line: int
    message: str


class TemplateInvalid(ValueError):
    """The template cannot be used; `problems` say where (file:line) and what."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [
            f"{self.source}:{p.line}: {p.message}" if p.line else f"{self.source}: {p.message}"
            for p in self.problems
        ]


@dataclass
class Template:
    """A validated template. `data` is the whole document as plain JSON data."""

    data: dict[str, Any]
    source: str = "<template>"
    base_dir: Path | None = None
    yaml_text: str = ""
    pages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.data.get("metadata") or {})

    @property
    def spec(self) -> dict[str, Any]:
        return dict(self.data.get("spec") or {})

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or "default")

    @property
    def ref(self) -> str:
        return f"template:{self.namespace}/{self.name}".lower()

    @property
    def title(self) -> str:
        return str(self.metadata.get("title") or self.name)

    @property
    def description(self) -> str:
        return str(self.metadata.get("description") or "")

    @property
    def tags(self) -> list[str]:
        return [str(t) for t in self.metadata.get("tags") or []]

    @property
    def owner(self) -> str:
        return str(self.spec.get("owner") or "")

    @property
    def steps(self) -> list[dict[str, Any]]:
        return [dict(step) for step in self.spec.get("steps") or []]

    @property
    def output(self) -> dict[str, Any]:
        return dict(self.spec.get("output") or {})


def step_id(step: Mapping[str, Any], index: int) -> str:
    """A step's id: its `id`, or `step-N` (1-based) as Backstage names a step without one."""
    return str(step.get("id") or f"step-{index + 1}")


def parameter_pages(parameters: Any) -> list[dict[str, Any]]:
    """`spec.parameters` is an object (one page) or a list of pages."""
    if parameters is None:
        return []
    if isinstance(parameters, list):
        return [dict(page) for page in parameters if isinstance(page, dict)]
    if isinstance(parameters, dict):
        return [dict(parameters)]
    return []


def parse_yaml(text: str, source: str) -> Any:
    if len(text.encode()) > MAX_TEMPLATE_BYTES:
        raise TemplateInvalid(source, [Problem(0, f"larger than {MAX_TEMPLATE_BYTES} bytes")])
    try:
        documents = [d for d in yaml.load_all(text, Loader=_LineLoader) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc)
        raise TemplateInvalid(source, [Problem(line, f"not valid YAML: {problem}")]) from None
    if not documents:
        raise TemplateInvalid(source, [Problem(0, "the file is empty")])
    templates = [d for d in documents if isinstance(d, dict) and d.get("kind") == "Template"]
    if len(templates) != 1:
        first = documents[0]
        if len(templates) > 1:
            raise TemplateInvalid(source, [Problem(0, "more than one Template in the file")])
        return first
    return templates[0]


def load_template_text(
    text: str, *, source: str = "<template>", base_dir: Path | None = None
) -> Template:
    """Parse and validate; raise TemplateInvalid listing every problem with its line."""
    document = parse_yaml(text, source)
    problems = validate_document(document)
    if problems:
        raise TemplateInvalid(source, problems)
    data = plain(document)
    return Template(
        data=data,
        source=source,
        base_dir=base_dir,
        yaml_text=text,
        pages=parameter_pages(data["spec"].get("parameters")),
    )


def load_template_file(path: Path | str) -> Template:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateInvalid(str(path), [Problem(0, f"cannot read the file: {exc}")]) from None
    return load_template_text(text, source=str(path), base_dir=path.resolve().parent)


def _check_expressions(
    value: Any, where: str, line: int, problems: list[Problem], parent: Any = None, key: Any = None
) -> None:
    if isinstance(value, str):
        try:
            check_syntax(value, where=where)
        except ExpressionError as exc:
            problems.append(Problem(_line_of(parent, key) or line, str(exc)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_expressions(item, f"{where}[{index}]", line, problems, value, index)
    elif isinstance(value, dict):
        for k, item in value.items():
            _check_expressions(item, f"{where}.{k}", line, problems, value, k)


def _check_schema_page(page: Any, index: int, problems: list[Problem]) -> None:
    label = f"parameters page {index + 1}"
    if not isinstance(page, dict):
        problems.append(Problem(_line_of(page), f"{label} must be a mapping"))
        return
    schema = {k: v for k, v in plain(page).items() if not k.startswith("ui:") and k != "when"}
    schema.setdefault("type", "object")
    try:
        jsonschema.Draft7Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        path = list(exc.path)
        node: Any = page
        for part in path[:-1]:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                break
        line = _line_of(node, path[-1] if path else None)
        where = ".".join(str(p) for p in path) or "schema"
        problems.append(Problem(line, f"{label}: invalid JSON Schema at {where}: {exc.message}"))
    properties = page.get("properties") or {}
    if not isinstance(properties, dict):
        return
    for required in page.get("required") or []:
        if required not in properties and not page.get("dependencies") and not page.get("allOf"):
            problems.append(
                Problem(
                    _line_of(page, "required"),
                    f"{label}: required field {required!r} is not a property",
                )
            )
    if "when" in page:
        _check_expressions(
            page["when"], f"{label}.when", _line_of(page, "when"), problems, page, "when"
        )


def validate_document(document: Any) -> list[Problem]:
    if not isinstance(document, dict):
        return [Problem(_line_of(document), "a template is a YAML mapping")]
    problems = _envelope_problems(document)
    spec = document.get("spec")
    if not isinstance(spec, dict):
        problems.append(
            Problem(_line_of(document, "spec"), "spec is required and must be a mapping")
        )
        return problems
    if not spec.get("type"):
        problems.append(
            Problem(_line_of(document, "spec"), "spec.type is required (e.g. service, website)")
        )
    secret_fields = _check_parameters(spec, problems)
    steps = spec.get("steps")
    # Backstage's schema allows `steps: []` (a template that only registers or links).
    if steps is None:
        steps = []
    elif not isinstance(steps, list):
        problems.append(Problem(_line_of(spec, "steps"), "spec.steps must be a list"))
        steps = []
    # Internal kinds (infra's claim steps) are added by Paved's own flows, never by a template.
    known = {name: kind for name, kind in step_kinds().items() if not kind.internal}
    seen: set[str] = set()
    for index, step in enumerate(steps):
        _check_step(steps, index, step, known, seen, secret_fields, problems)
    output = spec.get("output")
    if output is not None:
        _check_output(spec, output, secret_fields, problems)
    return problems


def _envelope_problems(document: dict[str, Any]) -> list[Problem]:
    problems = []
    if document.get("apiVersion") != API_VERSION:
        problems.append(
            Problem(
                _line_of(document, "apiVersion"),
                f"apiVersion must be {API_VERSION!r}, got {document.get('apiVersion')!r}",
            )
        )
    if document.get("kind") != "Template":
        problems.append(
            Problem(
                _line_of(document, "kind"), f"kind must be 'Template', got {document.get('kind')!r}"
            )
        )
    metadata = document.get("metadata")
    if not isinstance(metadata, dict) or not metadata.get("name"):
        problems.append(Problem(_line_of(document, "metadata"), "metadata.name is required"))
    return problems


def _check_parameters(spec: dict[str, Any], problems: list[Problem]) -> frozenset[str]:
    """Check the parameter pages; returns the names of the secret fields they declare."""
    parameters = spec.get("parameters")
    if parameters is not None and not isinstance(parameters, dict | list):
        problems.append(
            Problem(
                _line_of(spec, "parameters"), "spec.parameters must be a mapping or a list of pages"
            )
        )
    pages = (
        parameters
        if isinstance(parameters, list)
        else [parameters]
        if isinstance(parameters, dict)
        else []
    )
    for index, page in enumerate(pages):
        _check_schema_page(page, index, problems)
    secret_fields = secret_parameter_names([p for p in pages if isinstance(p, dict)])
    for index, page in enumerate(pages):
        if isinstance(page, dict) and "when" in page:
            for message in elsewhere_problems(
                page["when"], f"parameters page {index + 1} when", secret_fields
            ):
                problems.append(Problem(_line_of(page, "when"), message))
    return secret_fields


def _check_step(
    steps: list[Any],
    index: int,
    step: Any,
    known: dict[str, Any],
    seen: set[str],
    secret_fields: frozenset[str],
    problems: list[Problem],
) -> None:
    line = _line_of(steps, index)
    if not isinstance(step, dict):
        problems.append(Problem(line, f"step {index + 1} must be a mapping"))
        return
    key = step_id(step, index)
    label = f"step {key!r}"
    if key in seen:
        problems.append(Problem(_line_of(step, "id"), f"{label}: id is used twice"))
    seen.add(key)
    action = step.get("action")
    if not action:
        problems.append(Problem(line, f"{label}: action is required"))
    elif reason := unsupported_reason(str(action)):
        problems.append(Problem(_line_of(step, "action"), f"{label}: {reason}"))
    elif action not in known:
        names = ", ".join(sorted(known))
        problems.append(
            Problem(
                _line_of(step, "action"),
                f"{label}: unknown action {action!r}; known actions: {names}",
            )
        )
    elif isinstance(step.get("input"), dict) and not _has_expression(step["input"]):
        try:
            known[action].validate_inputs(plain(step["input"]))
        except ValueError as exc:
            problems.append(Problem(_line_of(step, "input"), f"{label}: invalid input: {exc}"))
    if "input" in step and not isinstance(step["input"], dict):
        problems.append(Problem(_line_of(step, "input"), f"{label}: input must be a mapping"))
    for key in ("input", "if", "each"):
        if key in step:
            _check_expressions(
                step[key], f"{label} {key}", _line_of(step, key), problems, step, key
            )
    _check_secret_flow(step, label, str(action or ""), secret_fields, problems)


def _check_output(
    spec: dict[str, Any], output: Any, secret_fields: frozenset[str], problems: list[Problem]
) -> None:
    if not isinstance(output, dict):
        problems.append(Problem(_line_of(spec, "output"), "spec.output must be a mapping"))
        return
    for key in ("links", "text"):
        if key in output and not isinstance(output[key], list):
            problems.append(Problem(_line_of(output, key), f"output.{key} must be a list"))
    _check_output_links(output.get("links"), problems)
    _check_expressions(output, "output", _line_of(spec, "output"), problems, spec, "output")
    for message in elsewhere_problems(output, "output", secret_fields):
        problems.append(Problem(_line_of(spec, "output"), message))


def _check_secret_flow(
    step: dict[str, Any],
    label: str,
    action: str,
    secret_fields: frozenset[str],
    problems: list[Problem],
) -> None:
    """Secrets reach steps only unchanged, as a whole input value (scaffolder/secret_flow.py)."""
    if "input" in step:
        for message in input_problems(action, step["input"], secret_fields):
            problems.append(Problem(_line_of(step, "input"), f"{label} {message}"))
    for key in ("if", "each"):
        if key in step:
            for message in elsewhere_problems(step[key], f"{label} {key}", secret_fields):
                problems.append(Problem(_line_of(step, key), message))


def _check_output_links(links: Any, problems: list[Problem]) -> None:
    """A literal output link must be http, https, mailto or a path on this portal; one built
    from an expression is checked when the run ends (unsafe ones are left out)."""
    if not isinstance(links, list):
        return
    for index, link in enumerate(links):
        url = link.get("url") if isinstance(link, dict) else None
        if not isinstance(url, str) or not url or _has_expression(url):
            continue
        if not is_safe_link(url, allow_relative=True):
            problems.append(
                Problem(
                    _line_of(link, "url"),
                    f"output.links[{index}].url {url[:80]!r} is not allowed: a link must be an "
                    "http, https or mailto URL or a path on this portal",
                )
            )


def _has_expression(value: Any) -> bool:
    if isinstance(value, str):
        return "${{" in value or "{%" in value
    if isinstance(value, list):
        return any(_has_expression(v) for v in value)
    if isinstance(value, dict):
        return any(_has_expression(v) for v in value.values())
    return False
