"""Push webhook: signature checked; a push refreshes the repository's locations."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from django.test import override_settings

from catalog.ingestion import REPO, Target
from catalog.models import Entity
from catalog.services import register_location
from portal.celery import app
from tests.catalog.helpers import push_repo
from tests.catalog.test_ingestion import SERVICES

pytestmark = pytest.mark.django_db
URL = "/catalog/webhooks/push"


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@override_settings(PAVED_CATALOG_WEBHOOK_SECRET="s3cret")
def test_signed_push_refreshes_repository(
    client: Any, django_capture_on_commit_callbacks: Any, local_git: Any
) -> None:
    push_repo(local_git, "acme", "orders", {"catalog-info.yaml": SERVICES.split("---")[0].encode()})
    register_location(target=Target(REPO, "acme/orders"), actor=None)
    body = json.dumps({"repository": {"full_name": "acme/orders"}}).encode()
    assert client.post(URL, body, content_type="application/json",
                       headers={"X-Hub-Signature-256": sign(body, "wrong")}).status_code == 403  # fmt: skip
    # A header that is not even ASCII is a bad signature too, never a 500.
    assert client.post(URL, body, content_type="application/json",
                       headers={"X-Hub-Signature-256": "sha256=\u00e9t\u00e9"}).status_code == 403  # fmt: skip
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(URL, body, content_type="application/json",
                                   headers={"X-Hub-Signature-256": sign(body, "s3cret")})  # fmt: skip
    finally:
        app.conf.task_always_eager = False
    assert response.status_code == 200
    assert response.json() == {"repository": "acme/orders", "refreshing": 1}
    assert Entity.objects.filter(ref="component:default/orders").exists()


def test_webhook_without_secret_is_refused(client: Any) -> None:
    assert client.post(URL, b"{}", content_type="application/json").status_code == 503


def test_beat_schedule_has_catalog_refresh(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["catalog-refresh-locations"]
    assert entry["task"] == "catalog.refresh_locations"
    assert entry["schedule"] == settings.PAVED_CATALOG_REFRESH_MINUTES * 60
    assert "catalog.refresh_locations" in app.tasks


@pytest.mark.django_db(transaction=True)
def test_refresh_task_runs_on_a_real_worker(celery_worker: Any, tmp_path: Any) -> None:
    from catalog.ingestion import FILE
    from catalog.tasks import refresh_locations
    from tests.conftest import wait_for

    path = tmp_path / "c.yaml"
    path.write_text(SERVICES.split("---")[0])
    register_location(target=Target(FILE, str(path)), actor=None)
    refresh_locations.delay()
    wait_for(lambda: Entity.objects.filter(ref="component:default/orders").exists(), timeout=30)
