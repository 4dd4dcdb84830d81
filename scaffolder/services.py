"""Scaffolder use cases: save a template (catalog entity + version), start a template run."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.ingestion import FILE
from catalog.models import Entity, make_ref
from portal.annotations import MANAGED_BY_LOCATION, TEMPLATE_DIR
from runs.models import Run
from runs.runner import RunStartError, StepSpec, start_run
from scaffolder.dry_run import template_context
from scaffolder.loader import Problem, Template, TemplateInvalid, load_template_text
from scaffolder.models import TemplatePublication, TemplateVersion
from scaffolder.parameters import format_errors, secret_parameter_names, validate_values
from scaffolder.permissions import can_use_template, unusable_reason
from scaffolder.platform import platform_context
from scaffolder.preflight import names_taken
from scaffolder.run_kind import RUN_KIND, template_step_specs
from scaffolder.upgrades.snapshots import snapshot_version, tree_digest


def _hash(text: str, base_dir: str) -> str:
    # The folder's files count too: a changed skeleton is a new version (template upgrades).
    tree = tree_digest(base_dir)
    return hashlib.sha256(
        f"{base_dir}\n{text}{chr(10) + tree if tree else ''}".encode()
    ).hexdigest()


def _base_dir_of(entity: Entity) -> str:
    """The folder a template's relative urls (./skeleton) read from. Only what Paved itself
    recorded counts: the publication row save_template writes for templates the platform team
    saved, or the file of a file location a platform admin registered or approved. Nothing a
    catalog document says (annotations included) can name a folder on this server."""
    if entity.location_id is None:
        publication = TemplatePublication.objects.filter(entity=entity).first()
        return publication.base_dir if publication is not None else ""
    location = entity.location
    if location is not None and location.type == FILE and location.is_approved:
        source = str(((entity.metadata or {}).get("annotations") or {}).get(
            MANAGED_BY_LOCATION) or "")  # fmt: skip
        if source.startswith("file:"):
            return str(Path(source.removeprefix("file:")).parent)
    return ""


def _record_version(
    *, template: Template, entity: Entity | None, base_dir: str, actor: User | None
) -> TemplateVersion:
    digest = _hash(template.yaml_text, base_dir)
    existing = TemplateVersion.objects.filter(ref=template.ref, content_hash=digest).first()
    if existing is not None:
        if entity is not None and existing.entity_id != entity.pk:
            TemplateVersion.objects.filter(pk=existing.pk).update(entity=entity)
        return existing
    last = TemplateVersion.objects.filter(ref=template.ref).order_by("-version").first()
    try:
        with transaction.atomic():
            version = TemplateVersion.objects.create(
                entity=entity,
                ref=template.ref,
                version=(last.version + 1) if last else 1,
                content_hash=digest,
                yaml_text=template.yaml_text,
                definition=template.data,
                base_dir=base_dir,
                created_by=actor,
            )
            snapshot_version(version)
            return version
    except IntegrityError:
        # Two first uses of a changed template at once (two people opening the wizard): the
        # other one recorded this content first, or took the number; use or number after it.
        same = TemplateVersion.objects.filter(ref=template.ref, content_hash=digest).first()
        if same is not None:
            return same
        return _record_version(template=template, entity=entity, base_dir=base_dir, actor=actor)


def save_template(
    *, yaml_text: str, actor: User | None, base_dir: str = "", source: str = "<template>"
) -> TemplateVersion:
    """Validate a template, upsert its catalog entity (kind=Template) and record the version.
    Raises TemplateInvalid (nothing written) when the template is not usable."""
    template = load_template_text(
        yaml_text, source=source, base_dir=Path(base_dir) if base_dir else None
    )
    metadata = dict(template.metadata)
    annotations = dict(metadata.get("annotations") or {})
    if base_dir:
        annotations[TEMPLATE_DIR] = base_dir
    metadata["annotations"] = annotations
    owner_ref = _owner_ref({"owner": template.owner})
    ref = make_ref("Template", template.namespace, template.name)
    provided = Entity.objects.filter(ref=ref, location__isnull=False).first()
    if provided is not None:
        raise TemplateInvalid(source, [Problem(0, (
            f"{ref} is provided by the catalog location {provided.location}; rename this "
            "template or unregister that location"))])  # fmt: skip
    with transaction.atomic():
        entity, _ = Entity.objects.update_or_create(
            ref=ref,
            defaults={
                "kind": "Template",
                "namespace": template.namespace,
                "name": template.name,
                "api_version": str(template.data.get("apiVersion")),
                "title": template.title,
                "description": template.description,
                "spec_type": str(template.spec.get("type") or ""),
                "lifecycle": str(template.spec.get("lifecycle") or ""),
                "owner_ref": owner_ref,
                "tags": template.tags,
                "metadata": metadata,
                "spec": template.spec,
                "updated_at": timezone.now(),
            },
        )
        TemplatePublication.objects.update_or_create(
            entity=entity, defaults={"base_dir": base_dir, "published_by": actor}
        )
        return _record_version(template=template, entity=entity, base_dir=base_dir, actor=actor)


def save_template_file(path: Path | str, *, actor: User | None = None) -> TemplateVersion:
    path = Path(path).resolve()
    return save_template(
        yaml_text=path.read_text(encoding="utf-8"),
        actor=actor,
        base_dir=str(path.parent),
        source=str(path),
    )


def version_for_entity(entity: Entity, *, actor: User | None = None) -> TemplateVersion:
    """The version matching the entity's current content (recorded on first use)."""
    base_dir = _base_dir_of(entity)
    document = {
        "apiVersion": entity.api_version,
        "kind": "Template",
        "metadata": dict((entity.metadata or {}).items()),
        "spec": entity.spec,
    }
    document["metadata"].setdefault("name", entity.name)
    document["metadata"].setdefault("namespace", entity.namespace)
    latest = TemplateVersion.objects.filter(ref=entity.ref).order_by("-version").first()
    if (
        latest is not None
        and latest.definition.get("spec") == entity.spec
        and latest.base_dir == base_dir
    ):
        return latest
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    template = load_template_text(
        text, source=entity.ref, base_dir=Path(base_dir) if base_dir else None
    )
    return _record_version(template=template, entity=entity, base_dir=base_dir, actor=actor)


def template_of(version: TemplateVersion, *, base_dir: Path | None = None) -> Template:
    """`base_dir`: read relative urls from this folder instead (a version's snapshot)."""
    if base_dir is None and version.base_dir:
        base_dir = Path(version.base_dir)
    return load_template_text(
        version.yaml_text, source=f"{version.ref} v{version.version}", base_dir=base_dir
    )


def user_context(user: User | None) -> dict[str, Any]:
    """`user.entity` / `user.ref` for expressions: the requester's catalog User entity."""
    if user is None:
        return {}
    entity = Entity.objects.filter(kind__iexact="user", user=user).first()
    if entity is None:
        return {
            "ref": f"user:default/{user.get_username()}".lower(),
            "entity": {"metadata": {"name": user.get_username()}},
        }
    return {
        "ref": entity.ref,
        "entity": {
            "apiVersion": entity.api_version,
            "kind": entity.kind,
            "metadata": {
                **(entity.metadata or {}),
                "name": entity.name,
                "namespace": entity.namespace,
            },
            "spec": entity.spec,
        },
    }


def _owner_ref(values: dict[str, Any]) -> str:
    owner = values.get("owner")
    if not isinstance(owner, str) or not owner:
        return ""
    kind, sep, rest = owner.lower().partition(":")
    if not sep:
        kind, rest = "group", owner.lower()
    if "/" not in rest:
        rest = f"default/{rest}"
    return f"{kind}:{rest}"


def start_template_run(
    *, version: TemplateVersion, values: dict[str, Any], actor: User | None
) -> Run:
    """Validate the values with the wizard's rules and start a "scaffolder" run.
    Raises RunStartError listing every problem; nothing is written then."""
    entity = version.entity
    if actor is not None and entity is not None and not can_use_template(actor, entity):
        raise RunStartError([unusable_reason(actor, entity)])
    try:
        template = template_of(version)
    except TemplateInvalid as exc:
        raise RunStartError(exc.lines()) from None
    clean, errors = validate_values(template.pages, values)
    if errors:
        raise RunStartError(format_errors(errors))
    # Every name the run would create must be free: a half-made service is worse than a no.
    taken = names_taken(template, clean, actor)
    if taken:
        raise RunStartError(taken)
    steps = template_step_specs(template)
    if not steps:
        # `steps: []` is valid Backstage (a template that only shows its output); the engine
        # runs at least one step, so the run records that there was nothing to do.
        steps = [
            StepSpec(
                key="nothing-to-do",
                kind="debug:log",
                name="Nothing to do",
                inputs={"message": "This template has no steps."},
            )
        ]
    label = clean.get("name") or clean.get("component_id") or ""
    return start_run(
        kind=RUN_KIND,
        title=f"{template.title}: {label}" if label else template.title,
        steps=steps,
        actor=actor,
        inputs=clean,
        context={
            "template": template_context(template, version_id=version.pk, version=version.version),
            "user": user_context(actor),
            "platform": platform_context(),
        },
        subject=f"scaffolder.template:{version.pk}",
        owner_ref=_owner_ref(clean),
        secret_fields=secret_parameter_names(template.pages),
    )
