"""Render a template version with a service's recorded values, without side effects.

Only the file-writing actions run (fetch:*, fs:*), in a throw-away folder, through the dry
run; every other step (repository, namespace, Argo CD, on-call, catalog) is not executed: the
outputs the service's original run recorded stand in for it."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffolder.dry_run import dry_run
from scaffolder.loader import Template
from scaffolder.models import ServiceProvenance, TemplateVersion
from scaffolder.parameters import apply_defaults, page_properties, visible_pages
from scaffolder.services import template_of
from scaffolder.upgrades.provenance import stamp_files
from scaffolder.upgrades.snapshots import snapshot_folder

_TEMPLATES: dict[tuple[int, str, str], Template] = {}


def _template(version: TemplateVersion, base_dir: Path | None) -> Template:
    """Parsed once per process: a rollout renders the same two versions for every service."""
    key = (version.pk, version.content_hash, str(base_dir or ""))
    if key not in _TEMPLATES:
        if len(_TEMPLATES) >= 32:
            _TEMPLATES.clear()
        _TEMPLATES[key] = template_of(version, base_dir=base_dir)
    return _TEMPLATES[key]


class RenderFailed(ValueError):
    """The template version could not be rendered with these values."""


@dataclass
class MissingAnswer:
    name: str
    title: str
    prop: dict[str, Any] = field(default_factory=dict)


def missing_answers(template: Template, values: dict[str, Any]) -> list[MissingAnswer]:
    """Required parameters of `template` the values do not answer and that have no default:
    the upgrade waits for the owner to give them."""
    with_defaults = apply_defaults(template.pages, values)
    missing: list[MissingAnswer] = []
    for page in visible_pages(template.pages, with_defaults):
        properties = page_properties(page)
        for name in page.get("required") or []:
            if with_defaults.get(name) in (None, "") and name in properties:
                prop = dict(properties[name])
                missing.append(MissingAnswer(name, str(prop.get("title") or name), prop))
    return missing


def render_version(
    version: TemplateVersion, provenance: ServiceProvenance, answers: dict[str, Any] | None = None
) -> dict[str, bytes]:
    """The files `version` writes for the service (catalog-info.yaml stamped with it)."""
    values = {**provenance.values, **(answers or {})}
    context = provenance.render_context or {}
    # The version's own skeleton, as recorded; today's folder only when none was kept.
    template = _template(version, snapshot_folder(version))
    with tempfile.TemporaryDirectory(prefix="paved-upgrade-") as folder:
        result = dry_run(
            template,
            values,
            workspace=Path(folder) / "workspace",
            user=context.get("user") or {},
            platform=context.get("platform"),
            task_id=context.get("task_id", "dry-run"),
            known_outputs=provenance.step_outputs or {},
        )
    if result.status != "completed":
        raise RenderFailed(f"{version.ref} v{version.version} does not render: {result.error}")
    files = dict(result.files)
    stamp_files(files, template_ref=version.ref, content_hash=version.content_hash)
    return files
