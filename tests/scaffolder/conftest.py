from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scaffolder.providers import register_test_providers, unregister_test_providers


@pytest.fixture(autouse=True)
def test_providers() -> Iterator[None]:
    """The on-disk "test" providers, registered only while a scaffolder test runs."""
    register_test_providers()
    yield
    unregister_test_providers()
