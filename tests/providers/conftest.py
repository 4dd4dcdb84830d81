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


@pytest.fixture
def fake_github():
    from tests.fakes.github import FakeGitHub

    fake = FakeGitHub().start()
    yield fake
    fake.stop()


@pytest.fixture
def github_settings(settings, fake_github):
    """PAVED_GIT_PROVIDER=github pointed at the loopback fake, with a token."""
    settings.PAVED_GITHUB_API_URL = fake_github.url
    settings.PAVED_GITHUB_TOKEN = "ghp_test"
    settings.PAVED_GITHUB_ORG = "acme"
    settings.PAVED_GITHUB_APP_ID = ""
    settings.PAVED_GITHUB_APP_PRIVATE_KEY = ""
    settings.PAVED_GITHUB_INSTALLATION_ID = ""
    settings.PAVED_GITHUB_THROTTLE = False
    settings.PAVED_PROVIDER_TIMEOUT = 5
    return settings
