"""Where a secret field's value may go: only unchanged, as the whole value of a step input.

A person types a secret (a password, a token) into a template's `ui:field: Secret` field; the
template may have been written by someone else. Log lines, errors and outputs mask the exact
value, but a transformed copy (`secrets.pw | list | join`, `| reverse`, `[0]`, a comparison
used as an oracle) would not be masked. So the template is checked when it is loaded, on the
parsed expressions: a secret — `secrets.<name>`, or `parameters.<name>` of a secret field — may
appear only as an entire step input value (`token: ${{ secrets.token }}`), never under a filter,
method, attribute, subscript, operator, comparison or condition, never inside a larger string,
never in `if`, `each`, a page's `when` or the template's output, and never in the inputs of
`fetch:template` (its skeleton's expressions could transform it). The whole `secrets` object, and
`parameters` as a whole when the template has secret fields, may not be used at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError, nodes

from scaffolder.expressions import is_single_expression, parse

SECRETS = "secrets"
PARAMETERS = "parameters"
# Actions whose inputs feed a renderer: a secret passed to them could be transformed there.
RENDERING_ACTIONS = ("fetch:template",)


@dataclass(frozen=True)
class SecretUse:
    ref: str  # `secrets.pw`, `parameters.pw`, or `secrets` for the whole object
    how: str  # what is done with it, in plain words


@dataclass(frozen=True)
class SecretFlow:
    whole: str  # the secret the value passes on unchanged ("" if none)
    uses: tuple[SecretUse, ...]  # every other use of a secret


def _ref(node: nodes.Node, secret_fields: frozenset[str]) -> str:
    """`secrets.x`, `secrets['x']`, or `parameters.x` of a secret field; "" otherwise."""
    if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
        root, key = node.node.name, node.attr
    elif (
        isinstance(node, nodes.Getitem)
        and isinstance(node.node, nodes.Name)
        and isinstance(node.arg, nodes.Const)
        and isinstance(node.arg.value, str)
    ):
        root, key = node.node.name, node.arg.value
    else:
        return ""
    if root == SECRETS or (root == PARAMETERS and key in secret_fields):
        return f"{root}.{key}"
    return ""


def _reads_one_field(parent: nodes.Node | None) -> bool:
    return isinstance(parent, nodes.Getattr) or (
        isinstance(parent, nodes.Getitem) and isinstance(parent.arg, nodes.Const)
    )


_HOW: tuple[tuple[type[nodes.Node], str], ...] = (
    (nodes.Call, "a call"),
    (nodes.Getattr, "an attribute or method of it"),
    (nodes.Getitem, "a subscript or slice of it"),
    (nodes.Compare, "a comparison"),
    (nodes.Operand, "a comparison"),
    (nodes.BinExpr, "an operator"),
    (nodes.UnaryExpr, "an operator"),
    (nodes.Concat, "joining it with `~`"),
    (nodes.Output, "text around it"),
    (nodes.CondExpr, "a condition"),
    (nodes.If, "a condition"),
    (nodes.For, "a loop"),
    (nodes.Assign, "a variable"),
    (nodes.With, "a variable"),
    (nodes.Macro, "a macro"),
    (nodes.CallBlock, "a macro"),
    (nodes.List, "a list"),
    (nodes.Tuple, "a list"),
    (nodes.Pair, "an object"),
    (nodes.Dict, "an object"),
)


def _how(parent: nodes.Node | None) -> str:
    if isinstance(parent, nodes.Filter):
        return f"the filter `{parent.name}`"
    if isinstance(parent, nodes.Test):
        return f"the test `{parent.name}`"
    for kind, words in _HOW:
        if isinstance(parent, kind):
            return words
    return f"a {type(parent).__name__}" if parent is not None else "an expression"


def analyse(source: str, secret_fields: frozenset[str]) -> SecretFlow:
    """How one template value uses secrets. A value that does not parse uses none (its syntax
    error is reported by the loader)."""
    if SECRETS not in source and not (secret_fields and PARAMETERS in source):
        return SecretFlow("", ())
    try:
        tree = parse(source)
    except TemplateError:
        return SecretFlow("", ())
    if tree is None:
        return SecretFlow("", ())
    body = tree.body
    if (
        is_single_expression(source)
        and len(body) == 1
        and isinstance(body[0], nodes.Output)
        and len(body[0].nodes) == 1
    ):
        whole = _ref(body[0].nodes[0], secret_fields)
        if whole:
            return SecretFlow(whole, ())
    uses: list[SecretUse] = []

    def walk(node: nodes.Node, parent: nodes.Node | None) -> None:
        ref = _ref(node, secret_fields)
        if ref:
            uses.append(SecretUse(ref, _how(parent)))
            return
        if (
            isinstance(node, nodes.Name)
            and node.ctx == "load"
            and (node.name == SECRETS or (node.name == PARAMETERS and secret_fields))
            and not (node.name == PARAMETERS and _reads_one_field(parent))
        ):
            uses.append(SecretUse(node.name, _how(parent)))
            return
        for child in node.iter_child_nodes():
            walk(child, node)

    walk(tree, None)
    return SecretFlow("", tuple(uses))


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, string) for every string in a JSON-like value."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))


def _refusal(use: SecretUse) -> str:
    if use.ref == SECRETS:
        return (
            "`secrets` holds the values of the secret fields and cannot be used as a whole "
            f"(here: {use.how}); pass one on unchanged as a whole input value, "
            "e.g. `${{ secrets.token }}`"
        )
    if use.ref == PARAMETERS:
        return (
            "`parameters` holds secret fields in this template, so it can only be read one "
            f"named field at a time (`parameters.name`), not as a whole (here: {use.how})"
        )
    return (
        f"{use.ref} is a secret; it may only be passed on unchanged, as the whole "
        f"value `${{{{ {use.ref} }}}}` of a step input, not through {use.how}"
    )


def input_problems(action: str, inputs: Any, secret_fields: frozenset[str]) -> list[str]:
    """Problems with the secrets in one step's `input`, each naming the input field."""
    problems = []
    for path, text in _strings(inputs, "input"):
        flow = analyse(text, secret_fields)
        for use in flow.uses:
            problems.append(f"{path}: {_refusal(use)}")
        if flow.whole and action.startswith(RENDERING_ACTIONS):
            problems.append(
                f"{path}: {flow.whole} is a secret; it cannot be passed to {action}, "
                "whose skeleton's expressions could change it and whose files end up in git"
            )
    return problems


def elsewhere_problems(value: Any, where: str, secret_fields: frozenset[str]) -> list[str]:
    """Problems with any secret in a place that is not a step input (`if`, `each`, `when`,
    the output): there a secret may not appear at all."""
    problems = []
    for path, text in _strings(value, ""):
        flow = analyse(text, secret_fields)
        refs = ([flow.whole] if flow.whole else []) + [use.ref for use in flow.uses]
        for ref in dict.fromkeys(refs):
            label = f"{where}{'.' + path if path else ''}"
            problems.append(
                f"{label}: {ref} is a secret; it cannot be used here, only passed on unchanged "
                "as the whole value of a step input"
            )
    return problems
