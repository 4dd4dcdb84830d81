"""Signature-checked inbound endpoints: GitHub, Argo CD notifications, PagerDuty, Opsgenie and the
generic events API. Each verifies before storing anything (401 missing credentials, 403 wrong),
keeps malformed payloads for inspection (400 with the reason), ignores replays by delivery id,
and stores every accepted delivery raw before normalizing it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from catalog.models import ApiToken
from catalog.tokens import authenticate, bearer_token
from catalog.webhooks import signature_ok
from metrics.batch import Incoming
from metrics.events import (
    ChangeIn,
    DeploymentIn,
    EventIn,
    IncidentIn,
    InvalidEvent,
    loads_storable,
    normalize_environment,
    parse_time,
)
from metrics.ingestion import ingest, ingest_generic, record_ignored, record_invalid
from metrics.tasks import refresh_rollups_task

MAX_BODY = 5 * 1024 * 1024
KEPT_HEADERS = (
    "X-GitHub-Event",
    "X-GitHub-Delivery",
    "X-GitHub-Hook-ID",
    "X-PagerDuty-Webhook-Id",
    "User-Agent",
    "Content-Type",
)


class Malformed(ValueError):
    """The delivery was authentic but its payload cannot be used; str() is the reason."""


def _json(http_status: int, **data: Any) -> JsonResponse:
    return JsonResponse(data, status=http_status)


def _size_limited(
    view: Callable[[HttpRequest], JsonResponse],
) -> Callable[[HttpRequest], JsonResponse]:
    """413 JSON for a body over MAX_BODY or PAVED_MAX_REQUEST_BYTES, before anything reads it.
    (Django itself would raise RequestDataTooBig on `request.body`: an HTML 400 page.)"""

    @wraps(view)
    def wrapper(request: HttpRequest) -> JsonResponse:
        try:
            too_big = len(request.body) > MAX_BODY
        except RequestDataTooBig:
            too_big = True
        if too_big:
            limit = min(MAX_BODY, settings.DATA_UPLOAD_MAX_MEMORY_SIZE or MAX_BODY)
            return _json(413, error=f"payload too large (the limit is {limit} bytes)")
        return view(request)

    return wrapper


def _headers(request: HttpRequest) -> dict[str, str]:
    return {h: request.headers[h] for h in KEPT_HEADERS if h in request.headers}


def _check_token(request: HttpRequest, expected: str, *extra_headers: str) -> JsonResponse | None:
    given = bearer_token(request, *extra_headers)
    if not expected:
        return _json(403, error="this webhook is not configured on the portal")
    if not given:
        return _json(401, error="missing token (Authorization: Bearer ...)")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return _json(403, error="wrong token")
    return None


def _load(body: bytes) -> Any:
    try:
        return loads_storable(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise Malformed(f"body is not valid JSON: {exc}") from None


DeliveryId = str | Callable[[Any], str]


def _delivery_of(delivery: DeliveryId, payload: Any) -> str:
    if isinstance(delivery, str):
        return delivery
    try:
        found = delivery(payload)
    except (KeyError, TypeError, AttributeError):
        return ""
    return found.replace("\x00", "")  # ids come from payloads; text can't hold NUL


def _accept(source: str, delivery: DeliveryId, request: HttpRequest, items_fn: Any) -> JsonResponse:
    """Parse the body once → store raw + normalize, mapping errors onto the documented
    responses. `delivery` is the delivery id, or a function deriving it from the payload."""
    body = request.body  # at most MAX_BODY: the views are @_size_limited
    payload: Any = None
    delivery_id = delivery if isinstance(delivery, str) else ""
    try:
        payload = _load(body)
        delivery_id = _delivery_of(delivery, payload)
        items: list[Incoming] = items_fn(payload)
    except (Malformed, InvalidEvent, KeyError, TypeError, AttributeError) as exc:
        reason = (
            str(exc)
            if isinstance(exc, (Malformed, InvalidEvent))
            else f"unexpected payload: {exc!r}"
        )
        record_invalid(
            source=source,
            delivery_id=f"invalid:{delivery_id}" if delivery_id else "",
            body=body.decode("utf-8", "replace").replace("\x00", "\ufffd"),
            payload=payload,
            headers=_headers(request),
            reason=reason,
        )
        return _json(400, error=reason)
    if not items:
        created = record_ignored(
            source=source,
            delivery_id=delivery_id or hashlib.sha256(body).hexdigest(),
            payload=payload,
            event_type=request.headers.get("X-GitHub-Event", ""),
        )
        return _json(200, status="ignored" if created else "duplicate")
    headers = _headers(request)
    for i, item in enumerate(items):
        item.headers = headers if i == 0 else {}
        item.payload = payload if i == 0 else {"part_of": delivery_id}
        item.delivery_id = delivery_id if i == 0 else f"{delivery_id}#{i}"
    loaded, _duplicates, unlinked = ingest(items)
    if loaded:
        refresh_rollups_task.delay_on_commit()  # type: ignore[attr-defined]
    status = "duplicate" if loaded == 0 else "stored"
    return _json(202 if loaded else 200, status=status, loaded=loaded, unlinked=unlinked)


# --- GitHub -------------------------------------------------------------------------------------


def _github_signature_ok(request: HttpRequest) -> JsonResponse | None:
    secret = settings.PAVED_GITHUB_WEBHOOK_SECRET
    if not secret:
        return _json(403, error="the GitHub webhook is not configured on the portal")
    given = request.headers.get("X-Hub-Signature-256", "")
    if not given:
        return _json(401, error="missing X-Hub-Signature-256")
    if not signature_ok(request.body, given, secret):
        return _json(403, error="signature does not match")
    return None


def _github_items(event: str, p: dict[str, Any]) -> list[Incoming]:
    if not isinstance(p, dict):
        raise Malformed("payload must be a JSON object")
    repo = (p.get("repository") or {}).get("full_name", "")
    if event in ("ping", ""):
        return []
    if not repo:
        raise Malformed("payload has no repository.full_name")
    parse = _GITHUB_EVENTS.get(event)
    if parse is None:
        return []
    return [
        Incoming(source="github", delivery_id="", event=ev, link_by="repo", event_type=event)
        for ev in parse(repo, p)
    ]


def _github_deployment_status(repo: str, p: dict[str, Any]) -> list[EventIn]:
    status = p["deployment_status"]["state"]
    if status not in ("success", "failure", "error"):
        return []  # pending / in_progress / queued: wait for the final state
    dep = p["deployment"]
    extra = dep.get("payload") if isinstance(dep.get("payload"), dict) else {}
    return [
        DeploymentIn(
            id=f"github:{repo}:{dep['id']}",
            component=repo,
            environment=normalize_environment(dep.get("environment") or "production"),
            status="success" if status == "success" else "failure",
            started_at=parse_time(dep.get("created_at"), "deployment.created_at", required=False),
            finished_at=parse_time(
                p["deployment_status"].get("created_at"), "deployment_status.created_at"
            ),  # type: ignore[arg-type]
            commit=dep.get("sha", ""),
            commits=None,
            rollback=bool(extra.get("rollback")),
            hotfix=bool(extra.get("hotfix")),
            extra={"url": p["deployment_status"].get("target_url", "")},
        )
    ]


def _github_workflow_run(repo: str, p: dict[str, Any]) -> list[EventIn]:
    run = p["workflow_run"]
    name = str(run.get("name", ""))
    deploy_words = [w.lower() for w in settings.PAVED_GITHUB_DEPLOY_WORKFLOWS]
    if p.get("action") != "completed" or not any(w in name.lower() for w in deploy_words):
        return []
    if run.get("conclusion") not in ("success", "failure"):
        return []
    return [
        DeploymentIn(
            id=f"github-run:{repo}:{run['id']}",
            component=repo,
            environment="production",
            status=run["conclusion"],
            started_at=parse_time(run.get("run_started_at"), "run_started_at", required=False),
            finished_at=parse_time(run.get("updated_at"), "workflow_run.updated_at"),  # type: ignore[arg-type]
            commit=run.get("head_sha", ""),
            commits=None,
            rollback="rollback" in name.lower(),
            hotfix="hotfix" in str(run.get("head_branch", "")).lower(),
            extra={"workflow": name, "url": run.get("html_url", "")},
        )
    ]


def _github_push(repo: str, p: dict[str, Any]) -> list[EventIn]:
    return [
        ChangeIn(
            component=repo,
            sha=c["id"],
            committed_at=parse_time(c.get("timestamp"), "commits[].timestamp"),  # type: ignore[arg-type]
        )
        for c in p.get("commits") or []
    ]


def _github_pull_request(repo: str, p: dict[str, Any]) -> list[EventIn]:
    pr = p["pull_request"]
    if p.get("action") != "closed" or not pr.get("merged") or not pr.get("merge_commit_sha"):
        return []
    return [
        ChangeIn(
            component=repo,
            sha=pr["merge_commit_sha"],
            committed_at=parse_time(pr.get("merged_at"), "pull_request.merged_at"),  # type: ignore[arg-type]
            extra={"pull_request": pr.get("number")},
        )
    ]


def _github_issues(repo: str, p: dict[str, Any]) -> list[EventIn]:
    issue = p["issue"]
    labels = {str(lbl.get("name", "")).lower() for lbl in issue.get("labels") or []}
    if "incident" not in labels:
        return []
    closed = issue.get("state") == "closed"
    return [
        IncidentIn(
            id=f"github-issue:{repo}:{issue['id']}",
            component=repo,
            started_at=parse_time(issue.get("created_at"), "issue.created_at"),
            resolved_at=parse_time(issue.get("closed_at"), "issue.closed_at", required=False)
            if closed
            else None,
            deployment="",
            title=str(issue.get("title", ""))[:500],
        )
    ]


_GITHUB_EVENTS: dict[str, Callable[[str, dict[str, Any]], list[EventIn]]] = {
    "deployment_status": _github_deployment_status,
    "workflow_run": _github_workflow_run,
    "push": _github_push,
    "pull_request": _github_pull_request,
    "issues": _github_issues,
}


@csrf_exempt
@login_not_required
@require_POST
@_size_limited
def github(request: HttpRequest) -> JsonResponse:
    denied = _github_signature_ok(request)
    if denied:
        return denied
    event = request.headers.get("X-GitHub-Event", "")
    delivery = request.headers.get("X-GitHub-Delivery", "")
    if not delivery:
        return _json(400, error="missing X-GitHub-Delivery")
    return _accept("github", delivery, request, lambda p: _github_items(event, p))


# --- Argo CD notifications ------------------------------------------------------------------


def _argocd_items(p: dict[str, Any]) -> list[Incoming]:
    if not isinstance(p, dict):
        raise Malformed("payload must be a JSON object")
    app, revision = p.get("app"), p.get("revision")
    if not app:
        raise Malformed("missing 'app' (the Argo CD application name)")
    if not revision:
        raise Malformed("missing 'revision'")
    phase = str(p.get("phase", "")).lower()
    if phase in ("succeeded", "success"):
        status = "success"
    elif phase in ("failed", "error", "failure"):
        status = "failure"
    else:
        return []  # Running etc.
    finished = parse_time(p.get("finished_at"), "finished_at")
    assert_dt(finished)
    return [
        Incoming(
            source="argocd",
            delivery_id="",
            link_by="argocd",
            event_type=f"sync-{status}",
            event=DeploymentIn(
                id=f"argocd:{app}:{revision}:{finished.isoformat() if finished else ''}",
                component=str(app),
                environment=normalize_environment(str(p.get("environment") or "production")),
                status=status,
                started_at=parse_time(p.get("started_at"), "started_at", required=False),
                finished_at=finished,  # type: ignore[arg-type]
                commit=str(revision),
                commits=None,
                rollback=bool(p.get("rollback")),
                hotfix=bool(p.get("hotfix")),
                extra={"url": p.get("url", ""), "repo": p.get("repo", "")},
            ),
        )
    ]


def assert_dt(value: datetime | None) -> None:
    if value is None:
        raise Malformed("missing 'finished_at'")


@csrf_exempt
@login_not_required
@require_POST
@_size_limited
def argocd(request: HttpRequest) -> JsonResponse:
    denied = _check_token(request, settings.PAVED_ARGOCD_WEBHOOK_TOKEN, "X-Paved-Token")
    if denied:
        return denied
    return _accept(
        "argocd",
        lambda p: f"{p['app']}:{p['revision']}:{p.get('phase', '')}:{p.get('finished_at', '')}",
        request,
        _argocd_items,
    )


# --- PagerDuty (v3 webhooks) ----------------------------------------------------------------


def _pagerduty_signature_ok(request: HttpRequest) -> JsonResponse | None:
    secret = settings.PAVED_PAGERDUTY_WEBHOOK_SECRET
    if not secret:
        return _json(403, error="the PagerDuty webhook is not configured on the portal")
    header = request.headers.get("X-PagerDuty-Signature", "")
    if not header:
        return _json(401, error="missing X-PagerDuty-Signature")
    expected = "v1=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    # Several signatures may be sent while a secret is being rotated.
    if any(hmac.compare_digest(s.strip().encode(), expected.encode()) for s in header.split(",")):
        return None
    return _json(403, error="signature does not match")


def _pagerduty_items(p: Any) -> list[Incoming]:
    ev = p.get("event") if isinstance(p, dict) else None
    if not isinstance(ev, dict):
        raise Malformed("missing 'event' object")
    kind = str(ev.get("event_type", ""))
    data = ev.get("data") or {}
    if kind not in ("incident.triggered", "incident.resolved", "incident.reopened"):
        return []
    service = (data.get("service") or {}).get("id")
    if not data.get("id") or not service:
        raise Malformed("incident event without data.id or data.service.id")
    occurred = parse_time(ev.get("occurred_at"), "event.occurred_at")
    started = resolved = None
    if kind == "incident.resolved":
        resolved = occurred
        started = parse_time(data.get("created_at"), "data.created_at", required=False)
    else:
        started = parse_time(data.get("created_at"), "data.created_at", required=False) or occurred
    return [
        Incoming(
            source="pagerduty",
            delivery_id="",
            link_by="pagerduty",
            event_type=kind,
            event=IncidentIn(
                id=f"pagerduty:{data['id']}",
                component=str(service),
                started_at=started,
                resolved_at=resolved,
                deployment="",
                title=str(data.get("title", ""))[:500],
                extra={"url": data.get("html_url", "")},
                reopened=kind == "incident.reopened",
            ),
        )
    ]


@csrf_exempt
@login_not_required
@require_POST
@_size_limited
def pagerduty(request: HttpRequest) -> JsonResponse:
    denied = _pagerduty_signature_ok(request)
    if denied:
        return denied
    header_id = request.headers.get("X-PagerDuty-Webhook-Id", "")

    def delivery(payload: Any) -> str:
        try:
            return str(payload["event"]["id"])
        except (KeyError, TypeError):
            return header_id

    return _accept("pagerduty", delivery, request, _pagerduty_items)


# --- Opsgenie -----------------------------------------------------------------------------------


def _epoch_ms(value: Any) -> datetime | None:
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise Malformed(f"alert time {value!r} is not a time in milliseconds") from None
    return parse_time(value, "alert time", required=False)


def _opsgenie_items(p: Any) -> list[Incoming]:
    if not isinstance(p, dict) or not isinstance(p.get("alert"), dict):
        raise Malformed("missing 'alert' object")
    action = str(p.get("action", ""))
    alert = p["alert"]
    if action not in ("Create", "Close", "Reopen"):
        return []
    details = alert.get("details") or {}
    component = details.get("component") or alert.get("entity")
    if not alert.get("alertId") or not component:
        raise Malformed("alert without alertId or component (details.component or entity)")
    created = _epoch_ms(alert.get("createdAt"))
    updated = _epoch_ms(alert.get("updatedAt")) or created
    return [
        Incoming(
            source="opsgenie",
            delivery_id="",
            link_by="name",
            event_type=f"alert-{action.lower()}",
            event=IncidentIn(
                id=f"opsgenie:{alert['alertId']}",
                component=str(component),
                started_at=created,
                resolved_at=updated if action == "Close" else None,
                deployment=str(details.get("deployment", "")),
                title=str(alert.get("message", ""))[:500],
                reopened=action == "Reopen",
            ),
        )
    ]


@csrf_exempt
@login_not_required
@require_POST
@_size_limited
def opsgenie(request: HttpRequest) -> JsonResponse:
    denied = _check_token(request, settings.PAVED_OPSGENIE_WEBHOOK_TOKEN, "X-Paved-Token")
    if denied:
        return denied
    return _accept(
        "opsgenie",
        lambda p: f"{p['alert']['alertId']}:{p['action']}:{p['alert'].get('updatedAt', '')}",
        request,
        _opsgenie_items,
    )


# --- Generic API ----------------------------------------------------------------------------


@csrf_exempt
@login_not_required
@require_POST
@_size_limited
def events_api(request: HttpRequest) -> JsonResponse:
    """POST one generic event (object) or several (array) with a per-integration token."""
    token = bearer_token(request)
    if not token:
        return _json(401, error="missing token (Authorization: Bearer <integration token>)")
    integration = authenticate(token, scope=ApiToken.Scope.METRICS_EVENTS)
    if integration is None:
        return _json(403, error="unknown or revoked integration token")
    try:
        data = _load(request.body)
    except Malformed as exc:
        record_invalid(
            source="api",
            delivery_id="",
            body=request.body.decode("utf-8", "replace"),
            payload=None,
            headers=_headers(request),
            reason=str(exc),
        )
        return _json(400, error=str(exc))
    events = data if isinstance(data, list) else [data]
    result = ingest_generic((str(i), json.dumps(e)) for i, e in enumerate(events))
    if result.loaded:
        refresh_rollups_task.delay_on_commit()  # type: ignore[attr-defined]
    body = result.as_dict() | {"integration": integration.name}
    if result.invalid and not result.loaded and not result.duplicate:
        body["error"] = "; ".join(f"event {w}: {r}" for w, r in result.invalid)
        return _json(400, **body)
    return _json(202 if result.loaded else 200, **body)
