"""fetch:template and fetch:template:file: render a skeleton into the workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from portal.providers.base import PermanentProviderError
from runs.context import StepContext
from runs.registry import NOTHING, StepKind, register_step
from runs.workspace import MAX_FILE_BYTES, UnsafePath, safe_join
from scaffolder.expressions import ExpressionError, render_string
from scaffolder.steps._files import matches_any, resolve_source, source_files, target_dir

TEMPLATE_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["url"],
    "properties": {
        "url": {"type": "string", "minLength": 1},
        "targetPath": {"type": "string"},
        "values": {"type": "object"},
        "copyWithoutRender": {"type": "array", "items": {"type": "string"}},
        "copyWithoutTemplating": {"type": "array", "items": {"type": "string"}},
        "cookiecutterCompat": {"type": "boolean"},
        "templateFileExtension": {"type": ["string", "boolean"]},
        "replace": {"type": "boolean"},
        "trimBlocks": {"type": "boolean"},
        "lstripBlocks": {"type": "boolean"},
        "token": {"type": "string"},
    },
    "additionalProperties": False,
}


def _render(
    text: str,
    values: dict[str, Any],
    *,
    where: str,
    cookiecutter: bool,
    whitespace: dict[str, bool],
) -> str:
    variables = {"values": values}
    if cookiecutter:
        variables["cookiecutter"] = values
    return render_string(text, variables, where=where, cookiecutter=cookiecutter, **whitespace)


def whitespace_options(inputs: dict[str, Any]) -> dict[str, bool]:
    """fetch:template's trimBlocks/lstripBlocks: Nunjucks' whitespace control of blocks."""
    return {
        "trim_blocks": bool(inputs.get("trimBlocks")),
        "lstrip_blocks": bool(inputs.get("lstripBlocks")),
    }


def skipped_path(rendered_rel: str) -> bool:
    """Backstage skips a file whose rendered path is empty, starts with "/" (its first folder
    rendered empty) or holds "//" (a folder in between rendered empty): that is how a
    skeleton makes files and folders conditional."""
    return rendered_rel == "" or rendered_rel.startswith("/") or "//" in rendered_rel


def render_file(
    *,
    source: Path,
    rel: str,
    target_root: Path,
    values: dict[str, Any],
    cookiecutter: bool,
    render_contents: bool,
    step_key: str,
    whitespace: dict[str, bool] | None = None,
) -> str | None:
    """Render one skeleton file's name and contents into `target_root`. Returns the written
    relative path, or None when the rendered name is empty (a conditional file)."""
    whitespace = whitespace or {}
    rendered_rel = _render(
        rel,
        values,
        where=f"step '{step_key}' file name {rel}",
        cookiecutter=cookiecutter,
        whitespace=whitespace,
    )
    if skipped_path(rendered_rel):
        return None
    try:
        target = safe_join(
            target_root, rendered_rel, what=f"rendered file name {rendered_rel!r} (from {rel})"
        )
    except UnsafePath as exc:
        raise PermanentProviderError(str(exc)) from None
    data = source.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise PermanentProviderError(f"{rel} is larger than {MAX_FILE_BYTES} bytes")
    if render_contents:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None  # binary: copy as is
        if text is not None:
            data = _render(
                text,
                values,
                where=f"step '{step_key}' file {rel}",
                cookiecutter=cookiecutter,
                whitespace=whitespace,
            ).encode()
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink():
        target.unlink()
    target.write_bytes(data)
    target.chmod(source.stat().st_mode & 0o755 | 0o600)
    return rendered_rel


@register_step
class FetchTemplate(StepKind):
    name = "fetch:template"
    writes = NOTHING
    title = "Render a skeleton into the workspace"
    dry_run_safe = True
    writes_workspace = True
    input_schema: ClassVar[dict[str, Any]] = TEMPLATE_INPUT_SCHEMA

    def run(self, ctx: StepContext) -> dict[str, Any]:
        with resolve_source(ctx, ctx.inputs["url"]) as source:
            return self._render_folder(ctx, source)

    @staticmethod
    def _render_folder(ctx: StepContext, source: Path) -> dict[str, Any]:
        inputs = ctx.inputs
        if not source.is_dir():
            raise PermanentProviderError(
                f"url {inputs['url']!r} is a file; fetch:template needs a folder"
            )
        target_root = target_dir(ctx, inputs.get("targetPath"))
        values = dict(inputs.get("values") or {})
        cookiecutter = bool(inputs.get("cookiecutterCompat"))
        verbatim = list(inputs.get("copyWithoutTemplating") or []) + list(
            inputs.get("copyWithoutRender") or []
        )
        extension = inputs.get("templateFileExtension")
        if extension is True:
            extension = ".njk"
        written = []
        try:
            for rel, path in source_files(source):
                render_contents = not matches_any(rel, verbatim)
                out_rel = rel
                if extension:
                    if rel.endswith(str(extension)):
                        out_rel = rel[: -len(str(extension))]
                    else:
                        render_contents = False
                result = render_file(
                    source=path,
                    rel=out_rel,
                    target_root=target_root,
                    values=values,
                    cookiecutter=cookiecutter,
                    render_contents=render_contents,
                    step_key=ctx.step.key,
                    whitespace=whitespace_options(inputs),
                )
                if result:
                    written.append(result)
        except ExpressionError as exc:
            raise PermanentProviderError(str(exc)) from None
        # One line, not one per file: every log line is a database write the page polls.
        ctx.log.info(
            "Rendered %d file(s) from %s: %s", len(written), inputs["url"], ", ".join(written)
        )
        return {"files": len(written)}


@register_step
class FetchTemplateFile(StepKind):
    name = "fetch:template:file"
    writes = NOTHING
    title = "Render one template file into the workspace"
    dry_run_safe = True
    writes_workspace = True
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["url", "targetPath"],
        "properties": {
            "url": {"type": "string", "minLength": 1},
            "targetPath": {"type": "string", "minLength": 1},
            "values": {"type": "object"},
            "cookiecutterCompat": {"type": "boolean"},
            "replace": {"type": "boolean"},
            "trimBlocks": {"type": "boolean"},
            "lstripBlocks": {"type": "boolean"},
            "token": {"type": "string"},
        },
        "additionalProperties": False,
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        with resolve_source(ctx, ctx.inputs["url"]) as source:
            self._render_one(ctx, source)
        ctx.log.info("Rendered %s.", ctx.inputs["targetPath"])
        return {}

    @staticmethod
    def _render_one(ctx: StepContext, source: Path) -> None:
        if not source.is_file():
            raise PermanentProviderError(f"url {ctx.inputs['url']!r} is not a file")
        try:
            render_file(
                source=source,
                rel=ctx.inputs["targetPath"],
                target_root=target_dir(ctx, "."),
                values=dict(ctx.inputs.get("values") or {}),
                cookiecutter=bool(ctx.inputs.get("cookiecutterCompat")),
                render_contents=True,
                step_key=ctx.step.key,
                whitespace=whitespace_options(ctx.inputs),
            )
        except ExpressionError as exc:
            raise PermanentProviderError(str(exc)) from None
