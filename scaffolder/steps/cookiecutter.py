"""fetch:cookiecutter: render a folder with the real `cookiecutter` package, as Backstage does.

As in Backstage's action, the folder at `url` is the project's *contents*: it is placed under a
`{{cookiecutter and 'contents'}}` folder of a generated cookiecutter template whose
`cookiecutter.json` is the step's `values` (so files use `{{ cookiecutter.x }}`); a `hooks/`
folder or `cookiecutter.json` inside it are ordinary files of the project, never run or read.

A template author writes the files, so rendering runs contained: in a child process with CPU,
memory and time limits, with Jinja's sandboxed environment (no Python internals reachable from
`{{ }}`), from a copy without symlinks, with an audit hook that refuses writes outside the
scratch folder and any subprocess. `_extensions` and `_jinja2_env_vars` in `values` are refused:
they load code into the renderer. (Backstage runs cookiecutter in a container instead.)
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from portal.providers.base import PermanentProviderError
from runs.context import StepContext
from runs.registry import NOTHING, StepKind, register_step
from runs.workspace import MAX_WORKSPACE_FILES, UnsafePath, safe_join
from scaffolder.steps._files import resolve_source, source_files, target_dir

_CHILD = """
import json, os, sys
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
import cookiecutter.generate as generate
import cookiecutter.prompt as prompt
from cookiecutter.main import cookiecutter as render

EXTENSIONS = ["cookiecutter.extensions." + n for n in (
    "JsonifyExtension", "RandomStringExtension", "SlugifyExtension", "TimeExtension",
    "UUIDExtension")]

def sandboxed(context):
    return SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True,
                                extensions=EXTENSIONS)

generate.create_env_with_context = sandboxed
prompt.create_env_with_context = sandboxed
request = json.load(sys.stdin)
ALLOWED = [os.path.realpath(request["scratch"])]
WRITES = {"os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir", "os.symlink",
          "os.link", "os.chmod", "os.truncate", "shutil.copyfile", "shutil.copymode",
          "shutil.copystat", "shutil.copytree", "shutil.move", "shutil.rmtree", "os.utime"}
NEVER = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork"}

def inside(path):
    if isinstance(path, int):
        return True
    real = os.path.realpath(os.fsdecode(path))
    return any(real == a or real.startswith(a + os.sep) for a in ALLOWED)

def guard(event, args):
    # Rendered names such as {{ "../../x" }} must not write outside the scratch folder.
    if event in NEVER:
        raise PermissionError(f"{event} is not allowed while rendering")
    if event == "open" and args and isinstance(args[0], (str, bytes)):
        mode, flags = args[1] or "", args[2] or 0
        writing = any(c in str(mode) for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR)
        if writing and not inside(args[0]):
            raise PermissionError(f"writing {args[0]} is outside the output folder")
    elif event in WRITES:
        for arg in args[:2]:
            if isinstance(arg, (str, bytes, os.PathLike)) and not inside(arg):
                raise PermissionError(f"{event} on {arg} is outside the output folder")

sys.addaudithook(guard)
try:
    render(request["template"], no_input=True, output_dir=request["out"], accept_hooks=False,
           default_config=True, overwrite_if_exists=True)
except Exception as exc:
    print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
    sys.exit(3)
"""

_REFUSED_KEYS = ("_extensions", "_jinja2_env_vars")


CONTENTS = "{{cookiecutter and 'contents'}}"


def _cookiecutter_json(inputs: dict[str, Any]) -> dict[str, Any]:
    """The generated template's cookiecutter.json: the step's values (Backstage's layout)."""
    values = dict(inputs.get("values") or {})
    refused = [key for key in _REFUSED_KEYS if key in values]
    if refused:
        raise PermanentProviderError(
            f"fetch:cookiecutter: values set {', '.join(refused)}, which loads code into the "
            "renderer; Paved does not allow it"
        )
    if inputs.get("copyWithoutRender"):
        values["_copy_without_render"] = list(inputs["copyWithoutRender"])
    return values


def _run_child(template: Path, out: Path, home: Path) -> None:
    seconds = 30

    def restrict() -> None:  # in the child, before Python starts
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds))
        resource.setrlimit(resource.RLIMIT_AS, (1024**3, 1024**3))

    env = {"HOME": str(home), "PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"}
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-c", _CHILD],
            input=json.dumps({"template": str(template), "out": str(out), "scratch": str(home)}),
            capture_output=True,
            text=True,
            timeout=seconds + 5,
            preexec_fn=restrict,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PermanentProviderError(
            f"fetch:cookiecutter: rendering took longer than {seconds} s and was stopped"
        ) from None
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1:] or ["it went over its CPU or memory limit"]
        raise PermanentProviderError(f"fetch:cookiecutter: rendering failed: {reason[0]}")


@register_step
class FetchCookiecutter(StepKind):
    name = "fetch:cookiecutter"
    writes = NOTHING
    title = "Render a cookiecutter template into the workspace"
    dry_run_safe = True
    writes_workspace = True
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "minLength": 1},
            "targetPath": {"type": "string"},
            "values": {"type": "object"},
            "copyWithoutRender": {"type": "array", "items": {"type": "string"}},
            "extensions": {"type": "array", "maxItems": 0},
            "imageName": {"type": "string"},
        },
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        url = ctx.inputs["url"]
        root = target_dir(ctx, ctx.inputs.get("targetPath"))
        with (
            resolve_source(ctx, url) as source,
            tempfile.TemporaryDirectory(prefix="paved-cookiecutter-") as scratch,
        ):
            if not source.is_dir():
                raise PermanentProviderError(
                    f"url {url!r} is a file; fetch:cookiecutter needs a folder"
                )
            config = _cookiecutter_json(ctx.inputs)
            template, out = Path(scratch) / "template", Path(scratch) / "out"
            contents = template / CONTENTS
            for rel, path in source_files(source):  # a copy without symlinks
                (contents / rel).parent.mkdir(parents=True, exist_ok=True)
                (contents / rel).write_bytes(path.read_bytes())
            contents.mkdir(parents=True, exist_ok=True)
            (template / "cookiecutter.json").write_text(json.dumps(config), encoding="utf-8")
            _run_child(template, out, Path(scratch))
            projects = [p for p in out.iterdir() if p.is_dir()] if out.is_dir() else []
            if len(projects) != 1:
                raise PermanentProviderError(
                    "fetch:cookiecutter: the template rendered no project folder"
                )
            written = source_files(projects[0])
            if len(written) > MAX_WORKSPACE_FILES:
                raise PermanentProviderError(
                    f"fetch:cookiecutter: more than {MAX_WORKSPACE_FILES} files"
                )
            for rel, path in written:
                try:
                    target = safe_join(root, rel)
                except UnsafePath as exc:
                    raise PermanentProviderError(str(exc)) from None
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(path.read_bytes())
        ctx.log.info("Rendered %d file(s) from %s with cookiecutter.", len(written), url)
        return {"files": len(written)}
