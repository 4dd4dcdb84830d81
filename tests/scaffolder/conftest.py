from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.scaffolder.providers import register_test_providers, unregister_test_providers


@pytest.fixture(autouse=True)
def test_providers() -> Iterator[None]:
    """The on-disk "test" providers, registered only while a scaffolder test runs."""
    register_test_providers()
    yield
    unregister_test_providers()


@pytest.fixture
def git_root(settings: Any, tmp_path: Path) -> Path:
    """The local git host's repositories, under this test's folder."""
    settings.PAVED_GIT_LOCAL_ROOT = tmp_path / "git"
    return tmp_path / "git"
