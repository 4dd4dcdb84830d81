"""The repository the golden path creates passes its own CI: a fresh virtualenv runs the CI
workflow's install, lint and test commands on the generated tree, `pip wheel .` builds the
package the Dockerfile installs. Needs PyPI (like `make venv`); takes about a minute."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

from tests.scaffolder.golden import Variant, all_variants, python_tree_digest, render

LONG_NAME = "a-rather-long-service-name-for-the-lint"  # 39 characters, the longest the form allows


def _venv(where: Path) -> dict[str, str]:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["VIRTUAL_ENV"] = str(where)
    env["PATH"] = f"{where / 'bin'}{os.pathsep}{env['PATH']}"
    return env


def _ci_commands(tree: Path) -> list[str]:
    workflow = yaml.safe_load((tree / ".github/workflows/ci.yaml").read_text())
    return [step["run"] for step in workflow["jobs"]["test"]["steps"] if "run" in step]


def _run(command: str, tree: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, f"`{command}` failed in {tree}:\n{done.stdout}\n{done.stderr}"


def test_every_generated_tree_installs_lints_tests_and_builds(tmp_path: Path) -> None:
    # Rendering is cheap: every combination is rendered, and each distinct Python tree (code,
    # packaging, CI workflow) goes through CI. The options only change deploy/ and docs.
    variants = [*all_variants(), Variant(True, True, ("none", "platform"), True, name=LONG_NAME)]
    trees: dict[str, Path] = {}
    for i, variant in enumerate(variants):
        tree = render(variant, tmp_path / f"v{i}")
        trees.setdefault(python_tree_digest(tree), tree)
    assert len(trees) == 2, "options changed the Python tree: each variant needs its own CI run"

    # One new virtualenv: the second tree's editable install replaces the first one's.
    env = _venv(tmp_path / "venv")
    for n, tree in enumerate(trees.values()):
        commands = _ci_commands(tree)
        assert commands[0] == "pip install -e '.[dev]'"
        assert {"ruff check .", "ruff format --check .", "pytest -q"} <= set(commands)
        for command in commands:
            _run(command, tree, env)

        # The wheel (what the Dockerfile installs) holds the service's code and nothing else.
        _run(f"pip wheel --no-deps --quiet -w {tmp_path / f'wheel{n}'} .", tree, env)
        [wheel] = (tmp_path / f"wheel{n}").glob("*.whl")
        names = zipfile.ZipFile(wheel).namelist()
        packaged = {name for name in names if ".dist-info/" not in name}
        sources = {p.relative_to(tree).as_posix() for p in (tree / "app").rglob("*.py")}
        assert packaged == sources
        _check_dockerfile(tree, packaged)


def _check_dockerfile(tree: Path, packaged: set[str]) -> None:
    """No container daemon here: check what the build reads and what the image starts."""
    dockerfile = (tree / "Dockerfile").read_text()
    ignored = {line.strip() for line in (tree / ".dockerignore").read_text().splitlines()}
    for source in re.findall(r"^COPY (?!--from)(\S+) ", dockerfile, flags=re.M):
        assert (tree / source).exists(), source
        assert source.split("/")[0] not in ignored, f"{source} is in .dockerignore"
    assert "pip install --no-cache-dir --prefix=/install ." in dockerfile
    module = re.search(r"uvicorn (\w+(?:\.\w+)*):app", dockerfile)
    assert module is not None
    assert module.group(1).replace(".", "/") + ".py" in packaged
