"""fs:rename and fs:delete: move or remove files in the workspace (never outside it)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, ClassVar

from portal.providers.base import PermanentProviderError
from runs.context import StepContext
from runs.registry import NOTHING, StepKind, register_step
from runs.workspace import UnsafePath, safe_join
from scaffolder.steps._files import matches_any, target_dir


def _in_workspace(ctx: StepContext, rel: str, what: str) -> Path:
    try:
        return safe_join(Path(ctx.workspace), rel, what=what)
    except UnsafePath as exc:
        raise PermanentProviderError(str(exc)) from None


@register_step
class FsRename(StepKind):
    name = "fs:rename"
    writes = NOTHING
    title = "Rename files in the workspace"
    dry_run_safe = True
    writes_workspace = True
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["files"],
        "properties": {
            "files": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["from", "to"],
                    "properties": {
                        "from": {"type": "string", "minLength": 1},
                        "to": {"type": "string", "minLength": 1},
                        "overwrite": {"type": "boolean"},
                    },
                },
            }
        },
        "additionalProperties": False,
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        target_dir(ctx, ".")
        for item in ctx.inputs["files"]:
            source = _in_workspace(ctx, item["from"], "from")
            dest = _in_workspace(ctx, item["to"], "to")
            if not source.exists() and dest.exists():
                ctx.log.info("%s was already renamed to %s.", item["from"], item["to"])
                continue  # a repeat after a retry
            if not source.exists():
                raise PermanentProviderError(
                    f"fs:rename: {item['from']!r} does not exist in the workspace"
                )
            if dest.exists():
                if not item.get("overwrite"):
                    raise PermanentProviderError(
                        f"fs:rename: {item['to']!r} already exists; set overwrite: true to replace it"
                    )
                if dest.is_dir():
                    shutil.rmtree(dest)
                else:
                    dest.unlink()
            dest.parent.mkdir(parents=True, exist_ok=True)
            source.rename(dest)
            ctx.log.info("Renamed %s to %s.", item["from"], item["to"])
        return {}


@register_step
class FsDelete(StepKind):
    name = "fs:delete"
    writes = NOTHING
    title = "Delete files from the workspace"
    dry_run_safe = True
    writes_workspace = True
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["files"],
        "properties": {"files": {"type": "array", "items": {"type": "string", "minLength": 1}}},
        "additionalProperties": False,
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        root = target_dir(ctx, ".").resolve()
        patterns = list(ctx.inputs["files"])
        for pattern in patterns:
            _in_workspace(ctx, pattern.replace("*", "x"), "files entry")
        removed = 0
        for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            rel = path.relative_to(root).as_posix()
            if not matches_any(rel, patterns):
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
            removed += 1
        ctx.log.info("Deleted %d path(s).", removed)
        return {"deleted": removed}
