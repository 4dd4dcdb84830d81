"""The audit trail: services append, admins read and export, nobody edits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from portal.models import AuditEvent
from runs.runner import StepSpec, cancel_run, execute_step, retry_run, start_run

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _streamed(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_run_lifecycle_is_audited_with_secrets_redacted(owner: User) -> None:
    token = "ghp_" + "Z" * 36
    run = start_run(
        kind="demo",
        title="audited",
        actor=owner,
        inputs={"github_token": token, "name": "orders"},
        steps=[StepSpec("b", "test:broken", inputs={})],
    )
    execute_step(run.steps.get().pk)
    retry_run(run, actor=owner)
    cancel_run(run, actor=owner)
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["run.started", "step.failed", "run.retried", "run.cancelled"]
    started = AuditEvent.objects.get(action="run.started")
    assert started.actor == owner
    assert started.actor_name == "olivia"
    assert started.after is not None
    assert started.after["inputs"] == {"github_token": "[redacted]", "name": "orders"}
    assert token not in json.dumps(list(AuditEvent.objects.values("before", "after", "summary")))


def test_audit_events_cannot_be_changed_or_deleted(owner: User) -> None:
    start_run(kind="demo", title="t", actor=owner, steps=[StepSpec("a", "debug:log")])
    event = AuditEvent.objects.get()
    event.summary = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_web_actions_record_the_client_address(owner: User) -> None:
    run = start_run(kind="demo", title="t", actor=owner, steps=[StepSpec("a", "debug:log")])
    _client(owner).post(f"/runs/{run.pk}/cancel", REMOTE_ADDR="10.1.2.3")
    event = AuditEvent.objects.get(action="run.cancelled")
    assert event.ip_address == "10.1.2.3"
    assert event.session_key  # hashed, never the raw session id


def test_only_platform_admins_browse_and_export(
    owner: User, outsider: User, platform_admin: User
) -> None:
    start_run(kind="demo", title="exported", actor=owner, steps=[StepSpec("a", "debug:log")])
    assert _client(outsider).get("/audit/").status_code == 403
    assert _client(owner).get("/audit/export.csv").status_code == 403
    admin = _client(platform_admin)
    page = admin.get("/audit/?action=run.started").content.decode()
    assert "olivia" in page
    assert "run.started" in page
    csv_body = _streamed(admin.get("/audit/export.csv?actor=olivia")).decode()
    assert csv_body.splitlines()[0].startswith("created_at,actor_name,action")
    assert "run.started" in csv_body
    records = json.loads(_streamed(admin.get("/audit/export.json?actor=nobody")))
    assert records == []
    assert admin.get("/audit/export.xml").status_code == 404


def test_admin_edits_and_location_registration_are_audited(platform_admin: User, tmp_path) -> None:
    from catalog.ingestion import Target
    from catalog.services import register_location

    admin = _client(platform_admin)
    response = admin.post(
        "/admin/auth/group/add/", {"name": "release-managers", "permissions": []}, follow=True
    )
    assert response.status_code == 200
    added = AuditEvent.objects.get(action="admin.added")
    assert added.actor == platform_admin
    assert added.target_type == "auth.group"
    assert added.target_label == "release-managers"

    file = tmp_path / "catalog-info.yaml"
    file.write_text("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: g}\n")
    register_location(target=Target("file", str(file)), actor=platform_admin)
    registered = AuditEvent.objects.get(action="catalog.location.registered")
    assert registered.after == {"type": "file", "target": str(file)}


def test_audit_list_queries_do_not_grow_with_events(
    owner: User, platform_admin: User, django_assert_max_num_queries: Any
) -> None:
    from portal import audit

    def add(n: int) -> None:
        for i in range(n):
            audit.record(actor=owner, action="run.started", target_type="demo", target_id=i)

    admin = _client(platform_admin)
    add(5)
    with django_assert_max_num_queries(12) as few:
        assert admin.get("/audit/").status_code == 200
    add(60)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert admin.get("/audit/").status_code == 200
