"""Reading and reshaping workspace data: fs:read, fs:readdir, and the Roadie utilities that
Backstage templates use (roadiehq:utils:fs:parse, roadiehq:utils:merge, roadiehq:utils:jsonata*).

They read and write only the run's workspace (`writes = NOTHING`), and all are dry-run safe:
a dry run reads and writes its own scratch workspace. JSONata expressions come from the template
author, so they are evaluated in a child process with hard CPU, memory and time limits
(`scaffolder/steps/jsonata_sandbox.py`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import yaml

from portal.providers.base import PermanentProviderError
from runs.context import StepContext
from runs.registry import NOTHING, StepKind, register_step
from runs.workspace import MAX_FILE_BYTES
from scaffolder.steps._files import target_dir
from scaffolder.steps.jsonata_sandbox import evaluate

PARSERS = ("yaml", "json", "multiyaml")


def _workspace_file(ctx: StepContext, rel: str, action: str) -> Path:
    path = target_dir(ctx, rel)
    if not path.is_file():
        raise PermanentProviderError(f"{action}: {rel!r} is not a file in the workspace")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise PermanentProviderError(f"{action}: {rel!r} is larger than {MAX_FILE_BYTES} bytes")
    return path


def _parse(text: str, parser: str, rel: str, action: str) -> Any:
    try:
        if parser == "json":
            return json.loads(text)
        if parser == "multiyaml":
            return list(yaml.safe_load_all(text))
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise PermanentProviderError(f"{action}: {rel!r} is not valid {parser}: {exc}") from None


def _parser_for(rel: str, given: str | None) -> str:
    if given:
        return given
    return "json" if rel.endswith(".json") else "yaml"


class _FsRead(StepKind):
    writes = NOTHING
    dry_run_safe = True
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["path"],
        "properties": {
            "path": {"type": "string", "minLength": 1},
            "parser": {"enum": list(PARSERS)},
        },
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        rel = ctx.inputs["path"]
        path = _workspace_file(ctx, rel, self.name)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise PermanentProviderError(f"{self.name}: {rel!r} is not UTF-8 text") from None
        parser = ctx.inputs.get("parser")
        content = _parse(text, parser, rel, self.name) if parser else text
        ctx.log.info("Read %s.", rel)
        return {"content": content}


@register_step
class FsRead(_FsRead):
    name = "fs:read"
    title = "Read a file from the workspace"


@register_step
class RoadieFsParse(_FsRead):
    name = "roadiehq:utils:fs:parse"
    title = "Read and parse a file from the workspace"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["path", "parser"],
        "properties": {
            "path": {"type": "string", "minLength": 1},
            "parser": {"enum": list(PARSERS)},
        },
    }


@register_step
class FsReadDir(StepKind):
    """Backstage's fs:readdir: `files` and `folders`, each {name, path, fullPath}; `fullPath`
    is relative to the workspace too (the worker's folders are nobody's business)."""

    name = "fs:readdir"
    writes = NOTHING
    dry_run_safe = True
    title = "List files and folders in the workspace"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["paths"],
        "properties": {
            "paths": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "recursive": {"type": "boolean"},
        },
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        root = target_dir(ctx, ".").resolve()
        files: list[dict[str, str]] = []
        folders: list[dict[str, str]] = []
        for rel in ctx.inputs["paths"]:
            folder = target_dir(ctx, rel)
            if not folder.is_dir():
                raise PermanentProviderError(
                    f"fs:readdir: {rel!r} is not a folder in the workspace"
                )
            entries = folder.rglob("*") if ctx.inputs.get("recursive") else folder.iterdir()
            for entry in sorted(entries):
                if entry.is_symlink():
                    continue  # could point anywhere
                path = entry.relative_to(root).as_posix()
                item = {"name": entry.name, "path": path, "fullPath": path}
                (folders if entry.is_dir() else files).append(item)
        ctx.log.info("Listed %d file(s) and %d folder(s).", len(files), len(folders))
        return {"files": files, "folders": folders}


def deep_merge(target: Any, source: Any, *, concat_arrays: bool) -> Any:
    """Roadie's merge (lodash `merge`): objects merge key by key, arrays index by index, or are
    concatenated with `mergeArrays`; anything else is replaced by the new value."""
    if isinstance(target, dict) and isinstance(source, dict):
        merged = dict(target)
        for key, value in source.items():
            merged[key] = (
                deep_merge(merged[key], value, concat_arrays=concat_arrays)
                if key in merged
                else value
            )
        return merged
    if isinstance(target, list) and isinstance(source, list):
        if concat_arrays:
            return target + source
        merged_list = list(target)
        for index, value in enumerate(source):
            if index < len(merged_list):
                merged_list[index] = deep_merge(
                    merged_list[index], value, concat_arrays=concat_arrays
                )
            else:
                merged_list.append(value)
        return merged_list
    return source


def _dump(data: Any, rel: str) -> str:
    if rel.endswith(".json"):
        return json.dumps(data, indent=2, ensure_ascii=False)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@register_step
class RoadieMerge(StepKind):
    name = "roadiehq:utils:merge"
    writes = NOTHING
    dry_run_safe = True
    writes_workspace = True
    title = "Merge data into a JSON or YAML file in the workspace"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["path", "content"],
        "properties": {
            "path": {"type": "string", "minLength": 1},
            "content": {"type": ["string", "object"]},
            "mergeArrays": {"type": "boolean"},
            "preserveYamlComments": {"type": "boolean"},
            "options": {"type": "object"},
        },
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        rel = ctx.inputs["path"]
        path = _workspace_file(ctx, rel, self.name)
        parser = _parser_for(rel, None)
        existing = _parse(path.read_text(encoding="utf-8"), parser, rel, self.name)
        content = ctx.inputs["content"]
        if isinstance(content, str):
            content = _parse(content, parser, "content", self.name)
        if not isinstance(content, dict):
            raise PermanentProviderError(f"{self.name}: content must be an object to merge")
        merged = deep_merge(
            existing or {}, content, concat_arrays=bool(ctx.inputs.get("mergeArrays"))
        )
        path.write_text(_dump(merged, rel), encoding="utf-8")
        ctx.log.info("Merged %d key(s) into %s.", len(content), rel)
        return {"path": rel}


@register_step
class RoadieJsonata(StepKind):
    name = "roadiehq:utils:jsonata"
    writes = NOTHING
    dry_run_safe = True
    title = "Transform data with a JSONata expression"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["data", "expression"],
        "properties": {"data": {}, "expression": {"type": "string", "minLength": 1}},
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        return {"result": evaluate(ctx.inputs["expression"], ctx.inputs["data"], self.name)}


class _JsonataFile(StepKind):
    writes = NOTHING
    dry_run_safe = True
    parser: ClassVar[str] = "json"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["path", "expression"],
        "properties": {
            "path": {"type": "string", "minLength": 1},
            "expression": {"type": "string", "minLength": 1},
            "loadAll": {"type": "boolean"},
            "replacer": {"type": "array"},
            "space": {"type": ["string", "integer"]},
            "options": {"type": "object"},
        },
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        rel = ctx.inputs["path"]
        path = _workspace_file(ctx, rel, self.name)
        parser = "multiyaml" if self.parser == "yaml" and ctx.inputs.get("loadAll") else self.parser
        data = _parse(path.read_text(encoding="utf-8"), parser, rel, self.name)
        result = evaluate(ctx.inputs["expression"], data, self.name)
        if self.parser == "json":
            text = json.dumps(result, indent=ctx.inputs.get("space"), ensure_ascii=False)
        else:
            text = yaml.safe_dump(result, sort_keys=False, allow_unicode=True)
        return {"result": text}


@register_step
class RoadieJsonataJson(_JsonataFile):
    name = "roadiehq:utils:jsonata:json:transform"
    title = "Transform a JSON file with a JSONata expression"


@register_step
class RoadieJsonataYaml(_JsonataFile):
    name = "roadiehq:utils:jsonata:yaml:transform"
    title = "Transform a YAML file with a JSONata expression"
    parser = "yaml"
