"""The metrics documentation renders in the portal, and the demo loader fills the dashboard."""

from __future__ import annotations

from typing import Any

import pytest

from metrics.demo import load_demo_metrics
from metrics.models import DailyRollup, Deployment

pytestmark = pytest.mark.django_db


def test_docs_page_renders(owner_client: Any) -> None:
    response = owner_client.get("/docs/metrics/")
    assert response.status_code == 200
    assert "Worked example" in response.content.decode()


def test_demo_loader_is_idempotent_and_fills_rollups() -> None:
    first = load_demo_metrics()
    count = Deployment.objects.count()
    assert count > 50
    assert DailyRollup.objects.filter(scope="org").exists()
    assert load_demo_metrics().startswith("0 delivery events loaded")
    assert Deployment.objects.count() == count
    assert "events loaded" in first
