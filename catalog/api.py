"""Read-only JSON API compatible with Backstage's catalog backend (`/api/catalog/...`).

Auth: the portal session, or `Authorization: Bearer <token>` with an ApiToken (hashed)."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path
from typing import Any

import yaml
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import FieldError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from catalog.models import ApiToken, Entity, Location, Relation

MAX_LIMIT = 10_000
# PostgreSQL's OFFSET and integer ids stop at these; a larger number is a 400 / 404, not a 500.
MAX_OFFSET = 2**31 - 1
MAX_UID = 2**63 - 1
OPENAPI_FILE = Path(__file__).with_name("openapi.yaml")
# A JSON path segment: what annotation/label keys and spec fields are made of. Anything else
# (`__` lookups, spaces, NUL) would be read by the ORM as a lookup or rejected by the database.
# No leading/trailing underscore either: joined with "__", it would shift the ORM's lookup split.
_KEY_SEGMENT = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9./-])?$")
# Dotted filter keys that map onto columns (faster, and case-insensitive like Backstage).
_COLUMNS = {
    "kind": "kind",
    "metadata.name": "name",
    "metadata.namespace": "namespace",
    "spec.type": "spec_type",
    "spec.lifecycle": "lifecycle",
    "spec.owner": None,  # matched on the raw value below
}


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_auth(view: Callable[..., JsonResponse]) -> Callable[..., JsonResponse]:
    """Session or bearer token; 401 JSON otherwise (never a login redirect)."""

    @login_not_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            token = (
                ApiToken.objects.select_related("user")
                .filter(token_hash=hash_token(header[7:].strip()), revoked=False)
                .first()
            )
            if token is None or not token.user.is_active:
                return _error(401, "AuthenticationError", "invalid or revoked API token")
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
            request.user = token.user
        elif not request.user.is_authenticated:
            return _error(
                401, "AuthenticationError", "sign in or send Authorization: Bearer <token>"
            )
        return view(request, *args, **kwargs)

    return wrapper


def _error(status: int, name: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"name": name, "message": message}}, status=status)


def _serialize(entities: list[Entity]) -> list[dict[str, Any]]:
    """Entities with their `relations` array, in two queries in total."""
    relations: dict[int, list[dict[str, str]]] = defaultdict(list)
    ids = [e.pk for e in entities]
    for start in range(0, len(ids), 1000):
        for source_id, type_, target_ref in Relation.objects.filter(
            source_id__in=ids[start : start + 1000]
        ).values_list("source_id", "type", "target_ref"):
            if {"type": type_, "targetRef": target_ref} not in relations[source_id]:
                relations[source_id].append({"type": type_, "targetRef": target_ref})
    out = []
    for entity in entities:
        body = entity.to_backstage()
        body["relations"] = sorted(relations[entity.pk], key=lambda r: (r["type"], r["targetRef"]))
        if entity.processing_errors:
            body["status"] = {
                "items": [
                    {"type": "backstage.io/catalog-processing", "level": "error", "message": m}
                    for m in entity.processing_errors
                ]
            }
        out.append(body)
    return out


def _condition(key: str, value: str | None) -> Q:
    key = key.strip()
    if value is not None and "\x00" in value:
        raise ValueError("filter values must not contain NUL characters")
    column = _COLUMNS.get(key.lower(), "")
    if value is None:  # `key` alone: exists
        if column:
            return ~Q(**{column: ""})
        return Q(**{f"{_json_path(key)}__isnull": False})
    if column:
        return Q(**{f"{column}__iexact": value})
    if key.lower() == "spec.owner":
        return Q(spec__owner__iexact=value)
    if key.startswith("metadata.tags"):
        return Q(tags__icontains=f'"{value.lower()}"')
    return Q(**{f"{_json_path(key)}__iexact": value})


def _json_path(key: str) -> str:
    root, _, rest = key.partition(".")
    if root not in ("metadata", "spec") or not rest:
        raise ValueError(f"unsupported filter key {key!r}")
    # Annotation/label keys contain dots and slashes: take everything after the map name whole.
    head, _, tail = rest.partition(".")
    whole_tail = head in ("annotations", "labels") and tail
    segments = [head, tail] if whole_tail else rest.split(".")
    if not all(_KEY_SEGMENT.match(s) and "__" not in s for s in segments):
        raise ValueError(f"unsupported filter key {key!r}")
    return "__".join([root, *segments])


def parse_filters(values: list[str]) -> Q:
    """Backstage's `filter`: within one param, comma = AND; repeated key = OR of values;
    separate `filter` params = OR."""
    combined = Q()
    for raw in values:
        by_key: dict[str, list[str | None]] = defaultdict(list)
        for part in raw.split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            by_key[key.strip()].append(value.strip() if sep else None)
        clause = Q()
        for key, vals in by_key.items():
            alternatives = Q()
            for v in vals:
                alternatives |= _condition(key, v)
            clause &= alternatives
        combined |= clause
    return combined


@require_GET
@api_auth
def entities(request: HttpRequest) -> JsonResponse:
    qs: QuerySet[Entity] = Entity.objects.order_by("id")
    filters = request.GET.getlist("filter")
    try:
        if filters:
            qs = qs.filter(parse_filters(filters))
        limit = min(_number(request, "limit", MAX_LIMIT), MAX_LIMIT)
        offset = _number(request, "offset", 0)
        page = list(qs[offset : offset + limit])
    except (ValueError, FieldError) as exc:
        return _error(400, "InputError", str(exc))
    return JsonResponse(_serialize(page), safe=False)


def _number(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw[:30]!r}") from None
    if not 0 <= value <= MAX_OFFSET:
        raise ValueError(f"{name} must be between 0 and {MAX_OFFSET}")
    return value


@require_GET
@api_auth
def entity_by_name(request: HttpRequest, kind: str, namespace: str, name: str) -> JsonResponse:
    ref = f"{kind}:{namespace}/{name}"
    # A reference with NUL can't be stored, so it can't exist (and PostgreSQL refuses it).
    entity = None if "\x00" in ref else Entity.objects.filter(ref=ref.lower()).first()
    if entity is None:
        return _error(404, "NotFoundError", f"No entity named '{kind}:{namespace}/{name}' found")
    return JsonResponse(_serialize([entity])[0])


@require_GET
@api_auth
def entity_by_uid(request: HttpRequest, uid: str) -> JsonResponse:
    # Backstage's uids are strings; ours are the row ids. Anything else simply isn't found.
    numeric = uid.isascii() and uid.isdigit() and len(uid) <= len(str(MAX_UID))
    pk = int(uid) if numeric and int(uid) <= MAX_UID else None
    entity = None if pk is None else Entity.objects.filter(pk=pk).first()
    if entity is None:
        return _error(404, "NotFoundError", f"No entity with uid {uid}")
    return JsonResponse(_serialize([entity])[0])


@require_GET
@api_auth
def entity_facets(request: HttpRequest) -> JsonResponse:
    columns = {"kind": "kind", "spec.type": "spec_type", "spec.lifecycle": "lifecycle",
               "metadata.namespace": "namespace"}  # fmt: skip
    facets: dict[str, list[dict[str, Any]]] = {}
    for facet in request.GET.getlist("facet"):
        column = columns.get(facet)
        if column is None:
            return _error(400, "InputError", f"unsupported facet {facet!r}")
        rows = Entity.objects.exclude(**{column: ""}).values(column).annotate(n=Count("id"))
        facets[facet] = [{"value": r[column], "count": r["n"]} for r in rows.order_by(column)]
    return JsonResponse({"facets": facets})


@require_GET
@api_auth
def locations(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        [
            {"data": {"id": str(loc.pk), "type": loc.type, "target": loc.target}}
            for loc in Location.objects.order_by("id")
        ],
        safe=False,
    )


@cache
def openapi_document() -> dict[str, Any]:
    """catalog/openapi.yaml, read once per process (callers must not change it)."""
    document: dict[str, Any] = yaml.safe_load(OPENAPI_FILE.read_text())
    return document


@require_GET
@api_auth
def openapi(request: HttpRequest) -> JsonResponse:
    """The OpenAPI document of /api/: for whoever may use the API (session or API token)."""
    return JsonResponse(openapi_document())
