"""Loopback PagerDuty and Opsgenie servers for the on-call provider and step tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.opsgenie import FakeOpsgenie
from tests.fakes.pagerduty import FakePagerDuty


@pytest.fixture
def fake_pagerduty() -> Iterator[FakePagerDuty]:
    fake = FakePagerDuty().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_opsgenie() -> Iterator[FakeOpsgenie]:
    fake = FakeOpsgenie().start()
    yield fake
    fake.stop()
