"""What function-patch-and-transform composes from a resource template and a composite resource.

A test oracle for the patch types and transforms Paved's Compositions use, so a composed
resource can be validated as the provider's API server would receive it. Anything else is
refused loudly rather than skipped.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

_MISSING = object()


def field_path(obj: Any, path: str) -> Any:
    """The value at a dotted field path, or _MISSING."""
    for part in path.split("."):
        if not isinstance(obj, Mapping) or part not in obj:
            return _MISSING
        obj = obj[part]
    return obj


def _set_path(obj: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        obj = obj.setdefault(part, {})
    obj[parts[-1]] = value


def _transform(value: Any, transform: Mapping[str, Any]) -> Any:
    kind = transform["type"]
    if kind == "map":
        if str(value) not in transform["map"]:
            raise ValueError(f"map transform has no entry for {value!r}")
        return transform["map"][str(value)]
    if kind == "string" and transform["string"]["type"] == "Format":
        return str(transform["string"]["fmt"]) % value
    raise NotImplementedError(f"transform {transform!r} is not modelled here")


def compose(resource: Mapping[str, Any], xr: Mapping[str, Any]) -> dict[str, Any]:
    """The composed resource: the base with every patch applied, named after the XR (and in
    its namespace when the XR is namespaced), as Crossplane creates it."""
    composed = copy.deepcopy(dict(resource["base"]))
    for patch in resource.get("patches") or []:
        kind = patch.get("type", "FromCompositeFieldPath")
        if kind != "FromCompositeFieldPath":
            raise NotImplementedError(f"patch type {kind} is not modelled here")
        value = field_path(xr, patch["fromFieldPath"])
        if value is _MISSING:
            continue  # the default Optional policy: no value, no patch
        for transform in patch.get("transforms") or []:
            value = _transform(value, transform)
        _set_path(composed, patch["toFieldPath"], copy.deepcopy(value))
    meta = composed.setdefault("metadata", {})
    meta["name"] = f"{xr['metadata']['name']}-{resource['name']}"
    if xr["metadata"].get("namespace"):
        meta["namespace"] = xr["metadata"]["namespace"]
    return composed
