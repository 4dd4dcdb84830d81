"""Catalog fixtures: the real local git host on bare repositories in tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def local_git(tmp_path: Path, settings: Any) -> Any:
    from portal.providers import git_host

    settings.PAVED_GIT_PROVIDER = "local"
    settings.PAVED_GIT_LOCAL_ROOT = str(tmp_path / "git")
    return git_host()
