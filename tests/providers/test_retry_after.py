"""One Retry-After parser for every provider: seconds or an HTTP date, never negative."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from portal.providers.retry_after import parse_retry_after


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("120", 120.0), (" 7 ", 7.0), ("1.5", 1.5), ("-3", 0.0), (30, 30.0)],
)
def test_delta_seconds(value: object, seconds: float) -> None:
    assert parse_retry_after(value) == seconds


def test_an_http_date_waits_until_then() -> None:
    wait = parse_retry_after(formatdate(time.time() + 90, usegmt=True))
    assert wait is not None
    assert 85 <= wait <= 91


def test_a_date_in_the_past_means_now() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "Wed, 99 Foo"])
def test_absent_or_unreadable_is_none(value: object) -> None:
    assert parse_retry_after(value) is None
