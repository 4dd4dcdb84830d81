"""The generic JSON event shape (API, import file): validation into small dataclasses.

Every parser raises InvalidEvent with a reason a person can act on; extra fields are kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ENV_ALIASES = {"prod": "production", "prd": "production", "stage": "staging"}


class InvalidEvent(ValueError):
    """The event does not match the documented shape; str(exc) is the reason."""


@dataclass(frozen=True)
class CommitIn:
    sha: str
    committed_at: datetime


@dataclass(frozen=True)
class DeploymentIn:
    id: str
    component: str
    environment: str
    status: str
    started_at: datetime | None
    finished_at: datetime
    commit: str
    commits: list[CommitIn] | None
    rollback: bool
    hotfix: bool
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChangeIn:
    component: str
    sha: str
    committed_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IncidentIn:
    id: str
    component: str
    started_at: datetime | None
    resolved_at: datetime | None
    deployment: str
    title: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # PagerDuty's incident.reopened / Opsgenie's Reopen: the incident is open again.
    reopened: bool = False


EventIn = DeploymentIn | ChangeIn | IncidentIn

_DEPLOYMENT_KEYS = {
    "type",
    "id",
    "component",
    "environment",
    "status",
    "started_at",
    "finished_at",
    "commit",
    "commits",
    "rollback",
    "hotfix",
}
_CHANGE_KEYS = {"type", "component", "sha", "committed_at"}
_INCIDENT_KEYS = {"type", "id", "component", "started_at", "resolved_at", "deployment", "title"}


def parse_time(value: Any, name: str, *, required: bool = True) -> datetime | None:
    if value is None or value == "":
        if required:
            raise InvalidEvent(f"missing required field {name!r}")
        return None
    if not isinstance(value, str):
        raise InvalidEvent(f"{name!r} must be an ISO-8601 string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEvent(f"{name!r} is not an ISO-8601 date-time: {value!r}") from None
    if parsed.tzinfo is None:  # naive times are taken as UTC (documented)
        return parsed.replace(tzinfo=UTC)
    # Python allows offsets up to ±23:59, PostgreSQL only ±15:59: store the instant in UTC.
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise InvalidEvent(f"{name!r} is out of range: {value!r}") from None


MAX_LEN = {
    "id": 250,
    "component": 253,
    "environment": 64,
    "sha": 64,
    "commit": 64,
    "deployment": 250,
}


def _str(data: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidEvent(f"missing required field {name!r}")
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InvalidEvent(f"{name!r} must be a string")
    text = str(value).strip()
    limit = MAX_LEN.get(name, 500)
    if len(text) > limit:
        raise InvalidEvent(f"{name!r} is longer than {limit} characters")
    return text


def _bool(data: dict[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidEvent(f"{name!r} must be true or false")
    return value


def normalize_environment(value: str) -> str:
    env = value.strip().lower()
    return ENV_ALIASES.get(env, env)


def parse_event(data: Any) -> EventIn:
    """Validate one generic event object."""
    if not isinstance(data, dict):
        raise InvalidEvent("an event must be a JSON object")
    kind = data.get("type")
    if kind == "deployment":
        return _parse_deployment(data)
    if kind == "change":
        return ChangeIn(
            component=_str(data, "component"),
            sha=_str(data, "sha"),
            committed_at=parse_time(data.get("committed_at"), "committed_at"),  # type: ignore[arg-type]
            extra={k: v for k, v in data.items() if k not in _CHANGE_KEYS},
        )
    if kind == "incident":
        started = parse_time(data.get("started_at"), "started_at")
        resolved = parse_time(data.get("resolved_at"), "resolved_at", required=False)
        if started and resolved and resolved < started:
            raise InvalidEvent("'resolved_at' is before 'started_at'")
        return IncidentIn(
            id=_str(data, "id"),
            component=_str(data, "component"),
            started_at=started,
            resolved_at=resolved,
            deployment=_str(data, "deployment", required=False),
            title=_str(data, "title", required=False),
            extra={k: v for k, v in data.items() if k not in _INCIDENT_KEYS},
        )
    if kind is None:
        raise InvalidEvent("missing required field 'type'")
    raise InvalidEvent(f"unknown type {kind!r}; expected deployment, change or incident")


def _parse_deployment(data: dict[str, Any]) -> DeploymentIn:
    # Identity first, so the reason names the most important missing field.
    dep_id, component = _str(data, "id"), _str(data, "component")
    environment = normalize_environment(_str(data, "environment"))
    status = _str(data, "status").lower()
    if status not in ("success", "failure"):
        raise InvalidEvent(f"'status' must be 'success' or 'failure', not {status!r}")
    finished = parse_time(data.get("finished_at"), "finished_at")
    started = parse_time(data.get("started_at"), "started_at", required=False)
    if finished is None:  # parse_time raised already; this keeps type checkers informed
        raise InvalidEvent("missing required field 'finished_at'")
    if started and started > finished:
        raise InvalidEvent("'started_at' is after 'finished_at'")
    commits: list[CommitIn] | None = None
    raw_commits = data.get("commits")
    if raw_commits is not None:
        if not isinstance(raw_commits, list):
            raise InvalidEvent("'commits' must be a list of {sha, committed_at}")
        commits = []
        for i, item in enumerate(raw_commits):
            if not isinstance(item, dict):
                raise InvalidEvent(f"commits[{i}] must be an object with sha and committed_at")
            try:
                commits.append(
                    CommitIn(
                        sha=_str(item, "sha"),
                        committed_at=parse_time(item.get("committed_at"), "committed_at"),  # type: ignore[arg-type]
                    )
                )
            except InvalidEvent as exc:
                raise InvalidEvent(f"commits[{i}]: {exc}") from None
    return DeploymentIn(
        id=dep_id,
        component=component,
        environment=environment,
        status=status,
        started_at=started,
        finished_at=finished,
        commit=_str(data, "commit", required=False),
        commits=commits,
        rollback=_bool(data, "rollback"),
        hotfix=_bool(data, "hotfix"),
        extra={k: v for k, v in data.items() if k not in _DEPLOYMENT_KEYS},
    )


def delivery_key(event: EventIn) -> str:
    """The idempotency key: type + id (sha for changes)."""
    if isinstance(event, ChangeIn):
        return f"change:{event.sha}"
    if isinstance(event, DeploymentIn):
        return f"deployment:{event.id}"
    return f"incident:{event.id}"


def contains_nul(value: Any) -> bool:
    """PostgreSQL cannot store NUL in text or jsonb; such payloads are refused as malformed."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(contains_nul(item) for item in value)
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    return False


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads_storable(text: str | bytes) -> Any:
    """json.loads that refuses what PostgreSQL's jsonb cannot store: NaN/Infinity and NUL."""
    value = json.loads(text, parse_constant=_refuse_constant)
    # Strict JSON has no raw control characters in strings, so NUL can only arrive escaped:
    # without that escape in the text the (costly) walk of the whole value is skipped.
    needle: str | bytes = b"\\u0000" if isinstance(text, bytes) else "\\u0000"
    if needle in text and contains_nul(value):  # type: ignore[operator]
        raise ValueError("strings must not contain NUL (\\u0000) characters")
    return value
