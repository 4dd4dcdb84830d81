"""catalog:register and catalog:write."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import yaml
from django.db import transaction

from catalog.ingestion import REPO
from catalog.models import Location, make_ref
from catalog.yamlio import MAX_FILE_BYTES, YamlError, parse_documents
from portal.annotations import SOURCE_TEMPLATE
from portal.providers import git_host
from portal.providers.base import PermanentProviderError
from runs.authority import CATALOG, CATALOG_LOCATION, Write, authorize, reserve
from runs.context import StepContext
from runs.models import Run
from runs.registry import NOTHING, OUTSIDE, StepKind, register_step
from runs.workspace import UnsafePath, safe_join
from scaffolder.catalog_bridge import location_target, register_repository_entities
from scaffolder.steps._files import target_dir


def split_contents_url(url: str) -> tuple[str, str, str]:
    """`<base>/<owner>/<name>/blob/<branch>[/<path>]` -> (owner, name, branch/path)."""
    head, sep, tail = url.partition("/blob/")
    if not sep:
        raise PermanentProviderError(
            f"{url!r} is not a repository contents URL (…/owner/repo/blob/branch)"
        )
    parts = head.rstrip("/").split("/")
    if len(parts) < 2:
        raise PermanentProviderError(f"{url!r} does not name an owner and a repository")
    return parts[-2], parts[-1], tail


def _entity_ref(document: dict[str, Any]) -> str:
    metadata = document.get("metadata") or {}
    return make_ref(
        str(document.get("kind")),
        str(metadata.get("namespace") or "default"),
        str(metadata.get("name")),
    )


def pick_entity_ref(documents: list[dict[str, Any]]) -> str:
    """Backstage: the first Component whose name does not start with generated-, else the first."""
    for document in documents:
        name = str((document.get("metadata") or {}).get("name") or "")
        if str(document.get("kind")).lower() == "component" and not name.startswith("generated-"):
            return _entity_ref(document)
    return _entity_ref(documents[0])


@register_step
class CatalogRegister(StepKind):
    name = "catalog:register"
    title = "Register the new repository's catalog-info.yaml"
    writes = OUTSIDE
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "oneOf": [{"required": ["catalogInfoUrl"]}, {"required": ["repoContentsUrl"]}],
        "properties": {
            "catalogInfoUrl": {"type": "string", "minLength": 1},
            "repoContentsUrl": {"type": "string", "minLength": 1},
            "catalogInfoPath": {"type": "string"},
            "optional": {"type": "boolean"},
        },
        "additionalProperties": False,
    }

    @classmethod
    def _url(cls, inputs: dict[str, Any]) -> str:
        if inputs.get("catalogInfoUrl"):
            return str(inputs["catalogInfoUrl"])
        path = (inputs.get("catalogInfoPath") or "/catalog-info.yaml").lstrip("/")
        return f"{str(inputs['repoContentsUrl']).rstrip('/')}/{path}"

    @classmethod
    def dry_run_outputs(cls, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"catalogInfoUrl": cls._url(inputs), "entityRef": ""}

    @classmethod
    def dry_run_outputs_in(cls, inputs: dict[str, Any], workspace: Path) -> dict[str, Any]:
        """The entity the run would register, read from the catalog-info.yaml the dry run
        rendered into the workspace (the file publish would push), so that an output link
        with only `entityRef` shows where it will lead."""
        outputs = cls.dry_run_outputs(inputs)
        if inputs.get("catalogInfoUrl"):
            return outputs  # a file in another repository: not in this workspace
        relative = str(inputs.get("catalogInfoPath") or "/catalog-info.yaml").lstrip("/")
        try:
            path = safe_join(workspace, relative, what="catalogInfoPath")
            if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
                return outputs
            documents = [
                d.data
                for d in parse_documents(path.read_bytes())
                if isinstance(d.data, dict) and d.data.get("kind")
                and isinstance(d.data.get("metadata"), dict)
            ]  # fmt: skip
        except (UnsafePath, YamlError, OSError):
            return outputs
        if documents:
            outputs["entityRef"] = pick_entity_ref(documents)
        return outputs

    @classmethod
    def write_targets(cls, inputs: dict[str, Any], run: Run) -> list[Write]:
        # Which teams the entities name is known once the file is read: run() checks them.
        return [Write(CATALOG, name=cls._url(inputs))]

    def run(self, ctx: StepContext) -> dict[str, Any]:
        url = self._url(ctx.inputs)
        owner, name, rest = split_contents_url(url)
        branch, _, path = rest.partition("/")
        host = git_host()
        repo = host.get_repository(owner, name)
        content = host.read_file(repo, path, ref=branch) if repo is not None else None
        if content is None or repo is None:
            if ctx.inputs.get("optional"):
                ctx.log.warning("No %s in %s/%s; skipping (optional).", path, owner, name)
                return {"catalogInfoUrl": url}
            raise PermanentProviderError(
                f"{path} was not found in {owner}/{name} on branch {branch}"
            )
        try:
            documents = [d for d in yaml.safe_load_all(content) if isinstance(d, dict)]
        except yaml.YAMLError as exc:
            raise PermanentProviderError(
                f"{path} in {owner}/{name} is not valid YAML: {exc}"
            ) from None
        if not documents:
            raise PermanentProviderError(f"{path} in {owner}/{name} contains no entity")
        for document in documents:
            if not isinstance(document.get("metadata"), dict) or not document.get("kind"):
                raise PermanentProviderError(
                    f"{path} in {owner}/{name}: every entity needs kind and metadata.name"
                )
        # Entities are registered only for the requester's own teams.
        authorize(ctx.run, ctx.step.key, [
            Write(CATALOG, name=_entity_ref(d), owner=str((d.get("spec") or {}).get("owner") or ""))
            for d in documents
        ])  # fmt: skip
        # Recorded before it is written, so "Undo what this run created" can remove it.
        where = location_target(owner=owner, name=name, path=path, branch=branch,
                                default_branch=branch == repo.default_branch)  # fmt: skip
        if not Location.objects.filter(type=REPO, target=where).exists():
            reserve(kind=CATALOG_LOCATION, key=where, owner_ref=ctx.run.owner_ref, run=ctx.run,
                    step_key=ctx.step.key)  # fmt: skip
        problems = register_repository_entities(
            owner=owner,
            name=name,
            path=path,
            branch=branch,
            default_branch=branch == repo.default_branch,
            actor=ctx.run.requested_by,
        )
        if problems:
            raise PermanentProviderError(
                f"{path} in {owner}/{name} was not accepted by the catalog: " + "; ".join(problems)
            )
        for document in documents:
            ctx.log.info("Registered %s in the catalog.", _entity_ref(document))
        entity_ref = pick_entity_ref(documents)
        if entity_ref.startswith("component:"):
            _record_created_component(ctx.run, entity_ref)
        return {"entityRef": entity_ref, "catalogInfoUrl": url}


def _record_created_component(run: Run, entity_ref: str) -> None:
    """The run remembers the component it created: metrics link the component's first
    deployment back to it (template-to-production time, golden-path adoption)."""
    with transaction.atomic():
        locked = Run.objects.select_for_update().get(pk=run.pk)
        locked.context = {**(locked.context or {}), "component_ref": entity_ref}
        locked.save(update_fields=["context"])
    run.context = locked.context


@register_step
class CatalogWrite(StepKind):
    name = "catalog:write"
    title = "Write catalog-info.yaml into the workspace"
    writes = NOTHING
    writes_workspace = True
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["entity"],
        "properties": {"filePath": {"type": "string"}, "entity": {"type": "object"}},
        "additionalProperties": False,
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        entity = dict(ctx.inputs["entity"])
        metadata = dict(entity.get("metadata") or {})
        annotations = dict(metadata.get("annotations") or {})
        template_ref = ((ctx.run.context or {}).get("template") or {}).get("ref")
        if template_ref:
            annotations[SOURCE_TEMPLATE] = template_ref
            metadata["annotations"] = annotations
        entity["metadata"] = metadata
        target = target_dir(ctx, ctx.inputs.get("filePath") or "catalog-info.yaml")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(entity, sort_keys=False))
        ctx.log.info("Wrote %s.", ctx.inputs.get("filePath") or "catalog-info.yaml")
        return {}
