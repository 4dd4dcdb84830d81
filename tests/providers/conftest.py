from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def git_root(settings, tmp_path: Path) -> Path:
    """Local git repositories live in this test's own directory."""
    root = tmp_path / "git"
    settings.PAVED_GIT_LOCAL_ROOT = root
    settings.PAVED_BASE_URL = "http://paved.test"
    return root
