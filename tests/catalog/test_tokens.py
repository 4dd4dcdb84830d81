"""One token model for the catalog API and the metrics events API: hashing, the bearer parser,
the once-a-minute `last_used_at`, the admin, and the migration that brought both tables into one."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import ApiToken
from catalog.tokens import authenticate, bearer_token, create_token, hash_token, revoke_token

ENTITIES = "/api/catalog/entities?limit=1"
EVENTS = "/api/metrics/events"


def _updates_of_tokens(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("UPDATE") and "catalog_apitoken" in q["sql"]
    ]


def test_bearer_token_parser() -> None:
    """The Authorization header wins; the extra headers are only looked at without it; no
    credentials is None, an empty Bearer is "" (a wrong token, not a missing one)."""
    rf = RequestFactory()
    assert bearer_token(rf.get("/", headers={"Authorization": "Bearer  pvd_x "})) == "pvd_x"
    assert bearer_token(rf.get("/", headers={"Authorization": "bearer pvd_x"})) == "pvd_x"
    assert bearer_token(rf.get("/", headers={"Authorization": "Bearer "})) == ""
    assert bearer_token(rf.get("/", headers={"Authorization": "Basic abc"})) is None
    assert bearer_token(rf.get("/")) is None
    assert bearer_token(rf.get("/", headers={"X-Paved-Token": "s3"}), "X-Paved-Token") == "s3"
    both = rf.get("/", headers={"Authorization": "Bearer a", "X-Paved-Token": "b"})
    assert bearer_token(both, "X-Paved-Token") == "a"


@pytest.mark.django_db
def test_a_read_writes_last_used_at_at_most_once_a_minute(
    django_assert_num_queries: Any, owner: User
) -> None:
    """Checking a token is one indexed read; the write of `last_used_at` happens on the first
    use and then again only once it is a minute old."""
    row, raw = create_token(name="ci", scope=ApiToken.Scope.CATALOG, user=owner)
    with django_assert_num_queries(2):  # the read, then the first last_used_at
        assert authenticate(raw, scope=ApiToken.Scope.CATALOG) is not None
    first = ApiToken.objects.get(pk=row.pk).last_used_at
    assert first is not None
    for _ in range(3):
        with django_assert_num_queries(1):
            assert authenticate(raw, scope=ApiToken.Scope.CATALOG) is not None
    assert ApiToken.objects.get(pk=row.pk).last_used_at == first
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=first - timedelta(seconds=61))
    with django_assert_num_queries(2):
        assert authenticate(raw, scope=ApiToken.Scope.CATALOG) is not None
    assert ApiToken.objects.get(pk=row.pk).last_used_at > first


@pytest.mark.django_db
def test_api_requests_do_not_write_the_token_on_every_call(owner: User) -> None:
    """Through the real API: ten calls in a row write the token row once, for each API."""
    _, catalog_raw = create_token(name="reader", scope=ApiToken.Scope.CATALOG, user=owner)
    _, events_raw = create_token(name="jenkins", scope=ApiToken.Scope.METRICS_EVENTS)
    client = Client()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(10):
            got = client.get(ENTITIES, headers={"Authorization": f"Bearer {catalog_raw}"})
            assert got.status_code == 200
            sent = client.post(EVENTS, "[]", content_type="application/json",
                               headers={"Authorization": f"Bearer {events_raw}"})  # fmt: skip
            assert sent.status_code == 200
    assert len(_updates_of_tokens(queries)) == 2


@pytest.mark.django_db
def test_revoked_tokens_and_deactivated_users_are_refused(owner: User) -> None:
    row, raw = create_token(name="ci", scope=ApiToken.Scope.CATALOG, user=owner)
    owner.is_active = False
    owner.save()
    assert authenticate(raw, scope=ApiToken.Scope.CATALOG) is None
    owner.is_active = True
    owner.save()
    revoke_token(token=row)
    first = ApiToken.objects.get(pk=row.pk).revoked_at
    revoke_token(token=row)
    assert ApiToken.objects.get(pk=row.pk).revoked_at == first
    assert authenticate(raw, scope=ApiToken.Scope.CATALOG) is None


@pytest.mark.django_db
def test_admin_says_which_tokens_need_a_user_and_which_must_not_have_one(
    admin_client: Client, owner: User
) -> None:
    add = "/admin/catalog/apitoken/add/"
    no_user = admin_client.post(add, {"name": "ci", "scope": "catalog"})
    assert "A catalog token acts as a person: choose its user." in no_user.content.decode()
    with_user = admin_client.post(
        add, {"name": "jenkins", "scope": "metrics-events", "user": owner.pk, "can_write": "on"}
    )
    page = with_user.content.decode()
    assert "An integration token belongs to no person: leave the user empty." in page
    assert not ApiToken.objects.exists()
    admin_client.post(add, {"name": "jenkins", "scope": "metrics-events"})
    again = admin_client.post(add, {"name": "jenkins", "scope": "metrics-events"})
    assert again.status_code == 200
    assert "jenkins" in again.content.decode()
    assert ApiToken.objects.count() == 1  # an integration name is taken once


@pytest.mark.django_db
def test_admin_revoke_action(admin_client: Client, owner: User) -> None:
    row, raw = create_token(name="ci", scope=ApiToken.Scope.CATALOG, user=owner)
    create_token(name="jenkins", scope=ApiToken.Scope.METRICS_EVENTS)
    listing = admin_client.get("/admin/catalog/apitoken/?revoked_at__isnull=True")
    assert listing.status_code == 200
    assert "jenkins" in listing.content.decode()
    change = admin_client.get(f"/admin/catalog/apitoken/{row.pk}/change/")
    assert change.status_code == 200
    assert raw not in change.content.decode()
    admin_client.post(
        "/admin/catalog/apitoken/", {"action": "revoke", "_selected_action": [row.pk]}
    )
    assert ApiToken.objects.get(pk=row.pk).revoked_at is not None
    assert authenticate(raw, scope=ApiToken.Scope.CATALOG) is None


BEFORE = [("catalog", "0010_entity_processing_warnings"),
          ("metrics", "0008_provisioned_without_warnings_check")]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_tokens_issued_before_the_migration_still_authenticate_after(owner: User) -> None:
    """Catalog tokens (revoked or not) and metrics integration tokens created in the old tables
    keep working, or keep being refused, once both live in one."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        state = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        old_api = state.get_model("catalog", "ApiToken")
        old_integration = state.get_model("metrics", "IntegrationToken")
        for raw, revoked in (("pvd_old-catalog-live", False), ("pvd_old-catalog-gone", True)):
            old_api.objects.create(name=raw, user_id=owner.pk, prefix=raw[:12],
                                   token_hash=hash_token(raw), revoked=revoked)  # fmt: skip
        for raw, revoked_at in (
            ("pvd_old-jenkins-live", None),
            ("pvd_old-gitlab-gone", timezone.now()),
        ):
            old_integration.objects.create(name=raw[8:], prefix=raw[:12], token_hash=hash_token(raw),
                                           created_by_id=owner.pk, revoked_at=revoked_at)  # fmt: skip
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    client = Client()

    def read(raw: str) -> int:
        return client.get(ENTITIES, headers={"Authorization": f"Bearer {raw}"}).status_code

    def send(raw: str) -> Any:
        return client.post(EVENTS, "[]", content_type="application/json",
                           headers={"Authorization": f"Bearer {raw}"})  # fmt: skip

    assert read("pvd_old-catalog-live") == 200
    assert read("pvd_old-catalog-gone") == 401
    live = send("pvd_old-jenkins-live")
    assert live.status_code == 200
    assert json.loads(live.content)["integration"] == "jenkins-live"
    assert send("pvd_old-gitlab-gone").status_code == 403
    moved = ApiToken.objects.get(name="jenkins-live")
    assert moved.scope == ApiToken.Scope.METRICS_EVENTS
    assert moved.user is None
    assert moved.created_by == owner
    assert ApiToken.objects.get(name="pvd_old-catalog-gone").revoked_at is not None
