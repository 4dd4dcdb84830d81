"""Webhooks: verification before storage, raw storage, replays, malformed payloads, linking."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from django.test import Client, override_settings

from catalog.models import ApiToken, Entity
from catalog.tokens import create_token, revoke_token
from metrics.models import Change, Deployment, Incident, RawEvent, RawEventStatus

pytestmark = pytest.mark.django_db
GH_SECRET = "gh-secret-for-tests"
PD_SECRET = "pd-secret-for-tests"
TOKENS = {
    "PAVED_GITHUB_WEBHOOK_SECRET": GH_SECRET,
    "PAVED_PAGERDUTY_WEBHOOK_SECRET": PD_SECRET,
    "PAVED_ARGOCD_WEBHOOK_TOKEN": "argo-token",
    "PAVED_OPSGENIE_WEBHOOK_TOKEN": "og-token",
}


@pytest.fixture(autouse=True)
def _secrets() -> Any:
    with override_settings(**TOKENS):
        yield


@pytest.fixture
def checkout() -> Entity:
    return Entity.objects.create(
        kind="Component",
        name="checkout",
        owner_ref="group:default/team-orders",
        metadata={
            "annotations": {
                "github.com/project-slug": "acme/checkout",
                "argocd/app-name": "checkout-prod",
                "pagerduty.com/service-id": "PSVC1",
            }
        },
    )


def gh(
    client: Client,
    event: str,
    payload: Any,
    delivery: str,
    secret: str = GH_SECRET,
    sign: bool = True,
) -> Any:
    body = json.dumps(payload).encode()
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery}
    if sign:
        headers["X-Hub-Signature-256"] = (
            "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        )
    return client.post("/hooks/github", body, content_type="application/json", headers=headers)


def deployment_status(state: str = "success", dep_id: int = 1) -> dict[str, Any]:
    return {
        "deployment_status": {"state": state, "created_at": "2026-03-02T12:00:00Z"},
        "deployment": {
            "id": dep_id,
            "sha": "abc123",
            "environment": "production",
            "created_at": "2026-03-02T11:50:00Z",
            "payload": {},
        },
        "repository": {"full_name": "acme/checkout"},
    }


def test_github_unsigned_and_wrongly_signed_are_rejected_and_not_stored(
    client: Client, checkout: Entity
) -> None:
    assert (
        gh(client, "deployment_status", deployment_status(), "d-1", sign=False).status_code == 401
    )
    assert (
        gh(client, "deployment_status", deployment_status(), "d-1", secret="nope").status_code
        == 403
    )
    body = json.dumps(deployment_status()).encode()
    response = client.post(
        "/hooks/github",
        body,
        content_type="application/json",
        headers={"X-GitHub-Event": "deployment_status", "X-GitHub-Delivery": "d-2",
                 "X-Hub-Signature-256": "sha256=\u00e9"},
    )  # fmt: skip
    assert response.status_code == 403  # not ASCII: a bad signature, not a 500
    assert RawEvent.objects.count() == 0
    assert Deployment.objects.count() == 0


def test_pagerduty_reopen_opens_the_incident_again(client: Client, checkout: Entity) -> None:
    pd(client, pd_event("e1", "incident.triggered", "2026-03-02T13:00:00Z"))
    pd(client, pd_event("e2", "incident.resolved", "2026-03-02T15:00:00Z"))
    assert Incident.objects.get().resolved_at is not None
    assert (
        pd(client, pd_event("e3", "incident.reopened", "2026-03-02T16:00:00Z")).status_code == 202
    )
    incident = Incident.objects.get()
    assert incident.resolved_at is None
    assert incident.started_at is not None
    pd(client, pd_event("e4", "incident.resolved", "2026-03-02T18:00:00Z"))
    assert Incident.objects.get().recovery_hours == 5.0


def test_github_deployment_status_is_stored_linked_and_replay_ignored(
    client: Client, checkout: Entity
) -> None:
    assert (
        gh(client, "deployment_status", deployment_status("in_progress"), "d-0").json()["status"]
        == "ignored"
    )
    response = gh(client, "deployment_status", deployment_status(), "d-1")
    assert response.status_code == 202
    dep = Deployment.objects.get()
    assert dep.component == checkout
    assert dep.commit_sha == "abc123"
    assert RawEvent.objects.get(delivery_id="d-1").payload["deployment"]["id"] == 1
    replay = gh(client, "deployment_status", deployment_status(), "d-1")
    assert replay.status_code == 200
    assert replay.json()["status"] == "duplicate"
    assert Deployment.objects.count() == 1


def test_github_push_records_commits_then_deployment_links_them(
    client: Client, checkout: Entity
) -> None:
    push = {
        "repository": {"full_name": "acme/checkout"},
        "commits": [
            {"id": "c1", "timestamp": "2026-03-02T08:00:00Z"},
            {"id": "abc123", "timestamp": "2026-03-02T09:00:00Z"},
        ],
    }
    assert gh(client, "push", push, "p-1").status_code == 202
    assert Change.objects.filter(component=checkout).count() == 2
    gh(client, "deployment_status", deployment_status(), "d-1")
    dep = Deployment.objects.get()
    assert sorted(dep.links.values_list("change__sha", flat=True)) == ["abc123", "c1"]
    assert Change.objects.get(sha="c1").first_prod_deployment == dep


def test_github_incident_issue_and_malformed_payload(client: Client, checkout: Entity) -> None:
    issue = {
        "action": "labeled",
        "repository": {"full_name": "acme/checkout"},
        "issue": {
            "id": 9,
            "title": "Checkout down",
            "created_at": "2026-03-02T13:00:00Z",
            "state": "open",
            "labels": [{"name": "incident"}],
        },
    }
    assert gh(client, "issues", issue, "i-1").status_code == 202
    assert Incident.objects.get().component == checkout
    bad = gh(client, "deployment_status", {"repository": {"full_name": "acme/checkout"}}, "bad-1")
    assert bad.status_code == 400
    assert "deployment_status" in bad.json()["error"]
    kept = RawEvent.objects.get(status=RawEventStatus.INVALID)
    assert kept.error
    assert kept.payload == {"repository": {"full_name": "acme/checkout"}}


def test_unlinked_repository_is_kept_and_listed(client: Client) -> None:
    gh(client, "deployment_status", deployment_status(), "d-1")
    dep = Deployment.objects.get()
    assert dep.component is None
    assert RawEvent.objects.get(delivery_id="d-1").status == RawEventStatus.UNLINKED


def test_events_named_by_repository_or_app_link_once_the_component_is_annotated(
    client: Client, request: pytest.FixtureRequest
) -> None:
    from metrics.relinking import relink_unlinked

    push = {"repository": {"full_name": "acme/checkout"},
            "commits": [{"id": "c1", "timestamp": "2026-03-02T08:00:00Z"}]}  # fmt: skip
    gh(client, "push", push, "p-1")
    gh(client, "deployment_status", deployment_status(), "d-1")
    argo = {"app": "checkout-prod", "revision": "abc123", "phase": "Succeeded",
            "finished_at": "2026-03-02T12:00:00Z"}  # fmt: skip
    client.post("/hooks/argocd", json.dumps(argo), content_type="application/json",
                headers={"Authorization": "Bearer argo-token"})  # fmt: skip
    assert Deployment.objects.filter(component__isnull=True).count() == 2
    assert Change.objects.filter(component__isnull=True).count() == 1
    checkout = request.getfixturevalue("checkout")  # now the catalog knows the annotations
    assert relink_unlinked() == 3
    assert set(Deployment.objects.values_list("component", flat=True)) == {checkout.pk}
    assert Change.objects.get().component == checkout


def pd(client: Client, payload: Any, secret: str = PD_SECRET) -> Any:
    body = json.dumps(payload).encode()
    sig = "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        "/hooks/pagerduty",
        body,
        content_type="application/json",
        headers={"X-PagerDuty-Signature": f"v1=old,{sig}"},
    )


def pd_event(event_id: str, kind: str, at: str) -> dict[str, Any]:
    return {
        "event": {
            "id": event_id,
            "event_type": kind,
            "occurred_at": at,
            "data": {
                "id": "Q1",
                "type": "incident",
                "title": "Down",
                "service": {"id": "PSVC1"},
                "created_at": "2026-03-02T13:00:00Z",
            },
        }
    }


def test_pagerduty_resolve_before_trigger(client: Client, checkout: Entity) -> None:
    assert (
        pd(client, pd_event("e2", "incident.resolved", "2026-03-02T15:00:00Z")).status_code == 202
    )
    assert (
        pd(client, pd_event("e1", "incident.triggered", "2026-03-02T13:00:00Z")).status_code == 202
    )
    incident = Incident.objects.get()
    assert incident.component == checkout
    assert incident.recovery_hours == 2.0
    assert (
        pd(client, pd_event("e1", "incident.triggered", "2026-03-02T13:00:00Z")).json()["status"]
        == "duplicate"
    )
    assert pd(client, pd_event("e3", "incident.triggered", "x"), secret="wrong").status_code == 403
    assert client.post("/hooks/pagerduty", "{}", content_type="application/json").status_code == 401


def test_argocd_token_and_sync(client: Client, checkout: Entity) -> None:
    body = {
        "app": "checkout-prod",
        "revision": "abc123",
        "phase": "Succeeded",
        "finished_at": "2026-03-02T12:00:00Z",
    }
    post = lambda token: client.post(  # noqa: E731
        "/hooks/argocd",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )
    assert post("").status_code == 401
    assert post("wrong").status_code == 403
    assert post("argo-token").status_code == 202
    assert post("argo-token").json()["status"] == "duplicate"
    assert Deployment.objects.get().component == checkout
    body.pop("revision")
    response = post("argo-token")
    assert response.status_code == 400
    assert "revision" in response.json()["error"]


def test_opsgenie_create_and_close(client: Client, checkout: Entity) -> None:
    def send(action: str, updated: int, token: str | None = "og-token") -> Any:  # noqa: S107
        alert = {
            "alertId": "A1",
            "message": "Down",
            "createdAt": 1772456400000,
            "updatedAt": updated,
            "details": {"component": "checkout"},
        }
        return client.post(
            "/hooks/opsgenie",
            json.dumps({"action": action, "alert": alert}),
            content_type="application/json",
            headers={"X-Paved-Token": token} if token is not None else {},
        )

    assert send("Create", 1772456400000, token=None).status_code == 401
    assert send("Create", 1772456400000, token="og-tokeN").status_code == 403
    assert not Incident.objects.exists()
    too_late = send("Create", 10**20)
    assert too_late.status_code == 400  # a time no clock can hold: a clear 400, kept raw
    assert "not a time in milliseconds" in too_late.json()["error"]
    assert RawEvent.objects.filter(status=RawEventStatus.INVALID).count() == 1
    assert send("Create", 1772456400000).status_code == 202
    assert send("Close", 1772463600000).status_code == 202
    assert Incident.objects.get().recovery_hours == 2.0


def test_generic_api_with_integration_tokens(client: Client) -> None:
    row, token = create_token(name="jenkins", scope=ApiToken.Scope.METRICS_EVENTS)
    assert ApiToken.objects.get().token_hash != token  # only the hash is stored
    event = {
        "type": "deployment",
        "id": "j-1",
        "component": "checkout",
        "environment": "production",
        "status": "success",
        "finished_at": "2026-03-02T12:00:00Z",
    }
    post = lambda data, t=token: client.post(  # noqa: E731
        "/api/metrics/events",
        json.dumps(data),
        content_type="application/json",
        headers={"Authorization": f"Bearer {t}"},
    )
    assert (
        client.post("/api/metrics/events", "{}", content_type="application/json").status_code == 401
    )
    assert post(event, "pvd_wrong").status_code == 403
    response = post(event)
    assert response.status_code == 202
    assert response.json()["loaded"] == 1
    assert post(event).json()["duplicate"] == 1
    bad = post({"type": "deployment", "component": "x"})
    assert bad.status_code == 400
    assert "missing required field 'id'" in bad.json()["error"]
    batch = post(
        [
            event,
            {
                "type": "change",
                "component": "checkout",
                "sha": "s1",
                "committed_at": "2026-03-01T00:00:00Z",
            },
        ]
    )
    assert batch.json()["loaded"] == 1
    assert batch.json()["duplicate"] == 1
    revoke_token(token=row)
    assert post(event).status_code == 403


def test_github_workflow_run_and_merged_pull_request(client: Client, checkout: Entity) -> None:
    run: dict[str, Any] = {
        "action": "completed",
        "repository": {"full_name": "acme/checkout"},
        "workflow_run": {
            "id": 77,
            "name": "Deploy to production",
            "conclusion": "success",
            "head_sha": "m1",
            "head_branch": "main",
            "run_started_at": "2026-03-02T11:00:00Z",
            "updated_at": "2026-03-02T11:20:00Z",
        },
    }
    ci: dict[str, Any] = {**run, "workflow_run": {**run["workflow_run"], "id": 78, "name": "CI"}}
    assert gh(client, "workflow_run", ci, "w-0").json()["status"] == "ignored"
    pr = {
        "action": "closed",
        "repository": {"full_name": "acme/checkout"},
        "pull_request": {
            "number": 5,
            "merged": True,
            "merge_commit_sha": "m1",
            "merged_at": "2026-03-02T10:00:00Z",
        },
    }
    assert gh(client, "pull_request", pr, "pr-1").status_code == 202
    assert gh(client, "workflow_run", run, "w-1").status_code == 202
    dep = Deployment.objects.get()
    assert (dep.component, dep.status, dep.commit_sha) == (checkout, "success", "m1")
    change = Change.objects.get(sha="m1")
    assert change.first_prod_deployment == dep  # inferred from the known merge commit
    assert (dep.finished_at - change.committed_at).total_seconds() == 80 * 60


def test_repository_slugs_match_whatever_their_case(client: Client, checkout: Entity) -> None:
    push = {"repository": {"full_name": "ACME/Checkout"},
            "commits": [{"id": "c9", "timestamp": "2026-03-02T08:00:00Z"}]}  # fmt: skip
    assert gh(client, "push", push, "p-9").status_code == 202
    assert Change.objects.get(sha="c9").component == checkout
