"""Provenance: which template version a repository was made from, recorded in Paved and as
annotations in the repository's catalog-info.yaml (so a re-imported repository keeps its link)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from portal.annotations import TEMPLATE, TEMPLATE_VERSION
from runs.models import Run, StepStatus
from runs.secrets import SECRET_FIELDS_KEY
from scaffolder.models import ProvenanceSource, ServiceProvenance, TemplateVersion

TEMPLATE_ANNOTATION = TEMPLATE
VERSION_ANNOTATION = TEMPLATE_VERSION
CATALOG_FILE = "catalog-info.yaml"
# The actions that write files into the run's workspace and nothing else: the only ones an
# upgrade re-runs (in a throw-away workspace, through the dry run).
FILE_ACTION_PREFIXES = ("fetch:", "fs:")
PUBLISH_ACTIONS = ("publish:git", "publish:github")
_ANNOTATION_LINE = re.compile(r"^(\s+)(paved\.dev/template(?:-version)?):.*$")
_ANNOTATIONS_KEY = re.compile(r"^(\s+)annotations:\s*$")
_METADATA_KEY = re.compile(r"^metadata:\s*$")


def _component_annotations(text: str) -> dict[str, Any] | None:
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return None
    for document in documents:
        if isinstance(document, dict) and str(document.get("kind", "")).lower() == "component":
            metadata = document.get("metadata") or {}
            return dict(metadata.get("annotations") or {}) if isinstance(metadata, dict) else {}
    return None


def stamp_catalog_info(text: str, *, template_ref: str, content_hash: str) -> str:
    """Set the two provenance annotations on the Component in a catalog-info.yaml, editing
    lines in place so comments and layout survive. Text without a Component is returned as is."""
    if _component_annotations(text) is None:
        return text
    wanted = {TEMPLATE_ANNOTATION: template_ref, VERSION_ANNOTATION: content_hash}
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        match = _ANNOTATION_LINE.match(line.rstrip("\n"))
        if match and match.group(2) in wanted:
            value = wanted.pop(match.group(2))
            lines[index] = f'{match.group(1)}{match.group(2)}: "{value}"\n'
    if wanted:
        _insert_annotations(lines, wanted)
    stamped = "".join(lines)
    found = _component_annotations(stamped) or {}
    if (
        found.get(TEMPLATE_ANNOTATION) != template_ref
        or found.get(VERSION_ANNOTATION) != content_hash
    ):
        return _stamp_by_reserialising(text, template_ref=template_ref, content_hash=content_hash)
    return stamped


def _insert_annotations(lines: list[str], wanted: Mapping[str, str]) -> None:
    for index, line in enumerate(lines):
        match = _ANNOTATIONS_KEY.match(line.rstrip("\n"))
        if match:
            indent = match.group(1) + "  "
            following = lines[index + 1] if index + 1 < len(lines) else ""
            deeper = re.match(r"^(\s+)\S", following)
            if deeper and len(deeper.group(1)) > len(match.group(1)):
                indent = deeper.group(1)
            lines[index + 1 : index + 1] = [f'{indent}{k}: "{v}"\n' for k, v in wanted.items()]
            return
    for index, line in enumerate(lines):
        if _METADATA_KEY.match(line.rstrip("\n")):
            block = ["  annotations:\n", *(f'    {k}: "{v}"\n' for k, v in wanted.items())]
            lines[index + 1 : index + 1] = block
            return


def _stamp_by_reserialising(text: str, *, template_ref: str, content_hash: str) -> str:
    # Layout the line editor could not handle (flow mappings, several documents): rewrite it.
    documents = list(yaml.safe_load_all(text))
    for document in documents:
        if isinstance(document, dict) and str(document.get("kind", "")).lower() == "component":
            metadata = document.setdefault("metadata", {})
            annotations = metadata.setdefault("annotations", {})
            annotations[TEMPLATE_ANNOTATION] = template_ref
            annotations[VERSION_ANNOTATION] = content_hash
            break
    return yaml.safe_dump_all(documents, sort_keys=False, allow_unicode=True)


def stamp_files(files: dict[str, bytes], *, template_ref: str, content_hash: str) -> None:
    """Stamp the rendered tree's catalog-info.yaml (in place)."""
    data = files.get(CATALOG_FILE)
    if data is None:
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    files[CATALOG_FILE] = stamp_catalog_info(
        text, template_ref=template_ref, content_hash=content_hash
    ).encode()


def stamp_workspace(root: Path, run: Run) -> None:
    """Before a template run publishes its workspace: annotate catalog-info.yaml with the
    template and the content hash of the version the run executes."""
    template = (run.context or {}).get("template") or {}
    version_id = template.get("version_id")
    path = root / CATALOG_FILE
    if not version_id or run.kind != "scaffolder" or path.is_symlink() or not path.is_file():
        return
    version = TemplateVersion.objects.filter(pk=version_id).only("ref", "content_hash").first()
    if version is None:
        return
    files = {CATALOG_FILE: path.read_bytes()}
    stamp_files(files, template_ref=version.ref, content_hash=version.content_hash)
    path.write_bytes(files[CATALOG_FILE])


def version_in_repository(text: str) -> tuple[str, str] | None:
    """(template ref, content hash) named by a catalog-info.yaml, or None."""
    annotations = _component_annotations(text) or {}
    ref, digest = annotations.get(TEMPLATE_ANNOTATION), annotations.get(VERSION_ANNOTATION)
    if isinstance(ref, str) and isinstance(digest, str) and ref and digest:
        return ref, digest
    return None


def non_secret_values(run: Run) -> dict[str, Any]:
    secret = set((run.context or {}).get(SECRET_FIELDS_KEY) or [])
    return {k: v for k, v in (run.inputs or {}).items() if k not in secret}


def record_from_run(run: Run) -> ServiceProvenance | None:
    """After a template run succeeded: if it published a repository, record what it was made
    from. Runs that made no repository record nothing."""
    template = (run.context or {}).get("template") or {}
    version = TemplateVersion.objects.filter(pk=template.get("version_id") or 0).first()
    if version is None:
        return None
    steps = list(run.steps.filter(status=StepStatus.SUCCEEDED).order_by("position"))
    published = [
        s for s in steps if s.kind in PUBLISH_ACTIONS and (s.outputs or {}).get("repository")
    ]
    if not published:
        return None
    repository = published[0].outputs["repository"]
    entity_ref = next(
        (str(s.outputs["entityRef"]) for s in steps if (s.outputs or {}).get("entityRef")), ""
    )
    outputs = {s.key: s.outputs or {} for s in steps if not s.kind.startswith(FILE_ACTION_PREFIXES)}
    return _save(
        repository=f"{repository['owner']}/{repository['name']}",
        git_host=str(repository.get("host") or ""),
        version=version,
        values=non_secret_values(run),
        step_outputs=outputs,
        render_context={
            "user": (run.context or {}).get("user") or {},
            "platform": (run.context or {}).get("platform"),
            "task_id": run.pk,
        },
        entity_ref=entity_ref,
        owner_ref=run.owner_ref,
        source=ProvenanceSource.SCAFFOLDED,
        run=run,
        actor=run.requested_by,
    )


def _save(
    *,
    repository: str,
    version: TemplateVersion,
    actor: User | None,
    run: Run | None = None,
    **fields: Any,
) -> ServiceProvenance:
    now = timezone.now()
    with transaction.atomic():
        provenance, _ = ServiceProvenance.objects.update_or_create(
            repository=repository.lower(),
            defaults={
                **fields,
                "template_ref": version.ref,
                "version": version,
                "run_pk": run.pk if run is not None else None,
                "created_by": actor,
                "version_since": now,
            },
        )
    return provenance
