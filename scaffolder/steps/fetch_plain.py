"""fetch:plain and fetch:plain:file: copy files into the workspace without rendering."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from portal.providers.base import PermanentProviderError
from runs.context import StepContext
from runs.registry import NOTHING, StepKind, register_step
from runs.workspace import UnsafePath, safe_join
from scaffolder.steps._files import resolve_source, source_files, target_dir


@register_step
class FetchPlain(StepKind):
    name = "fetch:plain"
    writes = NOTHING
    title = "Copy a folder into the workspace"
    dry_run_safe = True
    writes_workspace = True
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "minLength": 1},
            "targetPath": {"type": "string"},
            "token": {"type": "string"},
        },
        "additionalProperties": False,
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        with resolve_source(ctx, ctx.inputs["url"]) as source:
            return self._copy(ctx, source)

    @staticmethod
    def _copy(ctx: StepContext, source: Path) -> dict[str, Any]:
        root = target_dir(ctx, ctx.inputs.get("targetPath"))
        if source.is_file():
            raise PermanentProviderError(
                f"url {ctx.inputs['url']!r} is a file; use fetch:plain:file"
            )
        count = 0
        for rel, path in source_files(source):
            try:
                target = safe_join(root, rel)
            except UnsafePath as exc:
                raise PermanentProviderError(str(exc)) from None
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
            count += 1
        ctx.log.info("Copied %d file(s) from %s.", count, ctx.inputs["url"])
        return {"files": count}


@register_step
class FetchPlainFile(StepKind):
    name = "fetch:plain:file"
    writes = NOTHING
    title = "Copy one file into the workspace"
    dry_run_safe = True
    writes_workspace = True
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["url", "targetPath"],
        "properties": {
            "url": {"type": "string", "minLength": 1},
            "targetPath": {"type": "string", "minLength": 1},
            "token": {"type": "string"},
        },
        "additionalProperties": False,
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        with resolve_source(ctx, ctx.inputs["url"]) as source:
            if not source.is_file():
                raise PermanentProviderError(f"url {ctx.inputs['url']!r} is not a file")
            target = target_dir(ctx, ctx.inputs["targetPath"])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
        ctx.log.info("Copied %s to %s.", ctx.inputs["url"], ctx.inputs["targetPath"])
        return {}
