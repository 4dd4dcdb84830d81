"""The change that wires a request's connection secret into its service's manifests.

Pure functions over the repository's files, no provider calls: which repository a component
names, and the edits under deploy/ (an ExternalSecret file, its entry in kustomization.yaml,
`envFrom` in the Rollout or Deployment). Each edit is a small text insertion that keeps the
team's comments and layout, checked by parsing the result; a file the insertion cannot handle
is written from its parsed form instead, and the change says so.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

WORKLOAD_KINDS = ("Rollout", "Deployment", "StatefulSet")
_KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass
class Wiring:
    """What the pull request changes: files (path -> new content) and lines for its body."""

    files: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class CannotWire(Exception):
    """The repository has nothing Paved knows how to wire; the message says what is missing."""


def _docs(text: str) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def _workloads(docs: list[Any]) -> list[dict[str, Any]]:
    return [d for d in docs if isinstance(d, dict) and d.get("kind") in WORKLOAD_KINDS]


def _first_container(workload: dict[str, Any]) -> dict[str, Any] | None:
    containers = (((workload.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "containers"
    ) or []
    return containers[0] if containers and isinstance(containers[0], dict) else None


def _reads_secret(container: dict[str, Any], secret: str) -> bool:
    return any(
        isinstance(item, dict) and (item.get("secretRef") or {}).get("name") == secret
        for item in container.get("envFrom") or []
    )


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _insert_env_from(text: str, secret: str) -> str | None:
    """Text insertion of `- secretRef: {name: secret}` first in the first container's envFrom
    (adding envFrom when there is none). None when the layout is not the usual block style."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.strip() == "containers:"), None)
    if start is None:
        return None
    item = next((i for i in range(start + 1, len(lines)) if _is_content(lines[i])), None)
    if item is None or not lines[item].lstrip().startswith("- "):
        return None
    dash = _indent(lines[item])
    key_indent = " " * (dash + 2)
    for i in range(item + 1, len(lines)):
        line = lines[i]
        if _is_content(line) and _indent(line) <= dash:
            break  # the next container, or the end of the list
        if line.rstrip() == f"{key_indent}envFrom:":
            following = next((j for j in range(i + 1, len(lines)) if _is_content(lines[j])), None)
            if following is None or not lines[following].lstrip().startswith("- "):
                return None
            pad = " " * _indent(lines[following])
            entry = f"{pad}- secretRef:\n{pad}    name: {secret}\n"
            return "".join([*lines[: i + 1], entry, *lines[i + 1 :]])
    entry = f"{key_indent}envFrom:\n{key_indent}  - secretRef:\n{key_indent}      name: {secret}\n"
    return "".join([*lines[: item + 1], entry, *lines[item + 1 :]])


def wire_workload(text: str, secret: str) -> tuple[str, bool] | None:
    """The workload file reading `secret` as environment variables in its first container:
    (new text, whether it had to be rewritten without its comments). None when it already
    does; CannotWire when the file holds no workload with a container."""
    docs = _docs(text)
    workloads = _workloads(docs)
    container = _first_container(workloads[0]) if workloads else None
    if container is None:
        raise CannotWire("no Rollout or Deployment with a container")
    if _reads_secret(container, secret):
        return None
    container.setdefault("envFrom", []).insert(0, {"secretRef": {"name": secret}})
    inserted = _insert_env_from(text, secret)
    if inserted is not None and _docs(inserted) == docs:
        return inserted, False
    return yaml.safe_dump_all(docs, sort_keys=False), True


def _append_resource(text: str, entry: str) -> str | None:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start = next((i for i, ln in enumerate(lines) if re.fullmatch(r"resources:\s*", ln)), None)
    if start is None:
        return "".join([*lines, f"resources:\n  - {entry}\n"])
    last, pad = None, ""
    for i in range(start + 1, len(lines)):
        if not _is_content(lines[i]):
            continue
        if not lines[i].lstrip().startswith("- ") or (
            last is not None and _indent(lines[i]) != len(pad)
        ):
            break
        last, pad = i, " " * _indent(lines[i])
    if last is None:
        return None
    return "".join([*lines[: last + 1], f"{pad}- {entry}\n", *lines[last + 1 :]])


def wire_kustomization(text: str, entry: str) -> tuple[str, bool] | None:
    """kustomization.yaml listing `entry` under resources (None when it already does)."""
    doc = yaml.safe_load(text) or {}
    resources = list(doc.get("resources") or [])
    if entry in resources:
        return None
    doc["resources"] = [*resources, entry]
    appended = _append_resource(text, entry)
    if appended is not None and yaml.safe_load(appended) == doc:
        return appended, False
    return yaml.safe_dump(doc, sort_keys=False), True


def _find_workload(files: Mapping[str, bytes]) -> tuple[str, str]:
    """(workload file, kustomization file or "") under deploy/: a workload a kustomization
    lists, else any workload file."""
    texts = {p: b.decode("utf-8", "replace") for p, b in files.items()}
    for path in sorted(p for p in texts if posixpath.basename(p) in _KUSTOMIZATIONS):
        folder = posixpath.dirname(path)
        for resource in (yaml.safe_load(texts[path]) or {}).get("resources") or []:
            candidate = posixpath.normpath(posixpath.join(folder, str(resource)))
            if candidate in texts and _safe_workloads(texts[candidate]):
                return candidate, path
    for path in sorted(texts):
        if path.endswith((".yaml", ".yml")) and _safe_workloads(texts[path]):
            return path, ""
    raise CannotWire("no Rollout or Deployment under deploy/")


def _safe_workloads(text: str) -> list[dict[str, Any]]:
    try:
        return _workloads(_docs(text))
    except yaml.YAMLError:
        return []


def plan_wiring(
    files: Mapping[str, bytes], *, external_secret: dict[str, Any], yaml_text: str
) -> Wiring:
    """The files to change so the service reads the connection secret: the ExternalSecret
    (`yaml_text`) next to the workload, listed in its kustomization, and `envFrom` in the
    workload. An empty Wiring when the service already reads it."""
    workload_path, kustomization = _find_workload(files)
    folder = posixpath.dirname(workload_path)
    secret = str(external_secret["spec"]["target"]["name"])
    file_name = f"{external_secret['metadata']['name']}.externalsecret.yaml"
    path = posixpath.join(folder, file_name)
    wiring = Wiring()
    if files.get(path, b"").decode("utf-8", "replace") != yaml_text:
        wiring.files[path] = yaml_text.encode()
        wiring.notes.append(f"`{path}`: ExternalSecret that writes the Secret `{secret}`.")
    if kustomization:
        entry = posixpath.relpath(path, posixpath.dirname(kustomization))
        changed = wire_kustomization(files[kustomization].decode(), entry)
        if changed is not None:
            wiring.files[kustomization] = changed[0].encode()
            wiring.notes.append(
                f"`{kustomization}`: lists `{entry}`"
                + (" (rewritten from its parsed form: comments were lost)." if changed[1] else ".")
            )
    changed = wire_workload(files[workload_path].decode(), secret)
    if changed is not None:
        wiring.files[workload_path] = changed[0].encode()
        wiring.notes.append(
            f"`{workload_path}`: the first container reads `{secret}` through `envFrom`"
            + (" (rewritten from its parsed form: comments were lost)." if changed[1] else ".")
        )
    return wiring
