"""Backstage actions Paved cannot serve: a template naming one is refused when it is loaded,
with the action's name and what to use instead, rather than failing halfway through a run."""

from __future__ import annotations

# (prefix, why and what to use instead). A prefix ending in ":" or "*" covers a family.
_UNSUPPORTED: tuple[tuple[str, str], ...] = (
    (
        "publish:azure",
        "Azure DevOps is not a git host Paved integrates with; publish with publish:github "
        "or publish:git (Paved's own git host) instead",
    ),
    (
        "azure:",
        "Azure DevOps is not a git host Paved integrates with; use the github:* and "
        "publish:* actions instead",
    ),
    (
        "publish:bitbucket*",
        "Bitbucket is not a git host Paved integrates with; publish with publish:github "
        "or publish:git (Paved's own git host) instead",
    ),
    (
        "bitbucket*",
        "Bitbucket is not a git host Paved integrates with; use the github:* and "
        "publish:* actions instead",
    ),
    (
        "fetch:rails",
        "it runs `rails new` (arbitrary Ruby and a Docker image) on the worker, which Paved does "
        "not allow; keep a Rails skeleton next to the template and use fetch:template",
    ),
)


def unsupported_reason(action: str) -> str:
    """Why Paved refuses `action`, or "" when it is not one of the refused families."""
    for prefix, why in _UNSUPPORTED:
        family = prefix.rstrip("*")
        if action == family or (
            action.startswith(family)
            and (prefix.endswith(("*", ":")) or action[len(family)] == ":")
        ):
            return f"action {action!r} is not available in Paved: {why}"
    return ""
