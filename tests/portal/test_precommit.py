"""The pre-commit hooks run the same tools as `make lint`, from the project's venv."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_local_hooks_cover_lint_and_point_at_real_tools() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff", "ruff-format", "mypy", "makemigrations", "django-check"} <= hooks.keys()
    for hook in hooks.values():
        executable = shlex.split(hook["entry"])[0]
        assert (ROOT / executable).exists(), f"{hook['id']}: {executable} does not exist"
    assert "--check" in hooks["makemigrations"]["entry"]
    assert "check" in shlex.split(hooks["django-check"]["entry"])
