"""JSON API compatible with Backstage's catalog backend (`/api/catalog/...`).

Auth: the portal session, or `Authorization: Bearer <token>` with a catalog-scope ApiToken
(`catalog.tokens`). Reads
take either; what makes Paved fetch or change locations takes a token issued with `can_write`,
and acts with its user's rights (catalog.services applies the same rules as the pages)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path
from typing import Any

import yaml
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.core.exceptions import FieldError, PermissionDenied, RequestDataTooBig
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog import api_queries as queries
from catalog.api_queries import MAX_LIMIT, MAX_OFFSET, InputError, Plan
from catalog.ingestion import ProcessedEntity, ReadResult, Target
from catalog.kinds import extra_kind_schemas
from catalog.models import ApiToken, Entity, Location
from catalog.services import (
    LocationRefused,
    delete_location,
    location_target,
    preview_location,
    refresh_entity,
    register_and_refresh,
    registration_refusal,
)
from catalog.tokens import authenticate, bearer_token
from catalog.validation import RefError, parse_location_ref, parse_ref, validate_entity
from portal.annotations import CATALOG_PROCESSING_STATUS

MAX_UID = 2**63 - 1
OPENAPI_FILE = Path(__file__).with_name("openapi.yaml")
WRITE_REFUSED = (
    "this operation needs a catalog API token issued with write access "
    "(admin: Software catalog > API tokens > can write)"
)


View = Callable[..., HttpResponse]


def api_auth(view: View) -> View:
    """Session or bearer token; 401 JSON otherwise (never a login redirect)."""
    return _authenticated(view, write=False)


def api_write_auth(view: View) -> View:
    """Only a token issued with `can_write` (403 otherwise): a session or a read token never
    makes Paved fetch or change locations."""
    return _authenticated(view, write=True)


def _authenticated(view: View, *, write: bool) -> View:
    @login_not_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        raw = bearer_token(request)
        token = None
        if raw is not None:
            token = authenticate(raw, scope=ApiToken.Scope.CATALOG)
            if token is None or token.user is None:
                return _error(401, "AuthenticationError", "invalid or revoked API token")
            request.user = token.user
        elif not request.user.is_authenticated:
            return _error(
                401, "AuthenticationError", "sign in or send Authorization: Bearer <token>"
            )
        if write and (token is None or not token.can_write):
            return _error(403, "NotAllowedError", WRITE_REFUSED)
        return view(request, *args, **kwargs)

    return wrapper


def _error(status: int, name: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"name": name, "message": message}}, status=status)


def _json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object; InputError (400) for anything else."""
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise InputError("the request body must be JSON") from None
    if not isinstance(data, dict):
        raise InputError("the request body must be a JSON object")
    return data


def _api_errors(view: View) -> View:
    """Bad input and refusals as Backstage's error envelope, never a 500 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except RequestDataTooBig:
            return _error(413, "PayloadTooLargeError", "the request body is too large")
        except (InputError, FieldError) as exc:
            return _error(400, "InputError", str(exc))
        except PermissionDenied as exc:
            return _error(403, "NotAllowedError", str(exc))

    return wrapper


def _number(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{name} must be a whole number, not {raw[:30]!r}") from None
    if not 0 <= value <= MAX_OFFSET:
        raise InputError(f"{name} must be between 0 and {MAX_OFFSET}")
    return value


# --- Reads --------------------------------------------------------------------------------------


@require_GET
@api_auth
@_api_errors
def entities(request: HttpRequest) -> HttpResponse:
    plan = Plan.for_fields(queries.parse_fields(request.GET.getlist("fields")))
    qs: QuerySet[Entity] = plan.queryset()
    filters = request.GET.getlist("filter")
    if filters:
        qs = qs.filter(queries.parse_filters(filters))
    qs = queries.apply_order(qs, queries.parse_entities_order(request.GET.getlist("order")))
    limit = min(_number(request, "limit", MAX_LIMIT), MAX_LIMIT)
    offset = _number(request, "offset", 0)
    return JsonResponse(queries.serialize(list(qs[offset : offset + limit]), plan), safe=False)


@require_GET
@api_auth
@_api_errors
def entities_by_query(request: HttpRequest) -> HttpResponse:
    params = request.GET
    plan = Plan.for_fields(queries.parse_fields(params.getlist("fields")))
    limit = min(_number(request, "limit", queries.DEFAULT_QUERY_LIMIT), MAX_LIMIT)
    totals = params.get("totalItems", "include")
    if totals not in ("include", "exclude"):
        raise InputError("totalItems must be include or exclude")
    cursor = query = None
    if params.get("cursor"):
        # As in Backstage, a cursor carries the query: filter, order and text are not re-read.
        cursor = queries.decode_cursor(params["cursor"])
    else:
        orders = params.getlist("orderField")
        order = None
        if orders:  # Backstage uses the first order field only
            name, _, direction = orders[0].partition(",")
            order = (name.strip(), direction.strip() or "asc")
            queries.sort_key(*order)
        query = queries.Query(
            filters=params.getlist("filter"),
            order=order,
            term=params.get("fullTextFilterTerm", ""),
            text_fields=queries.parse_fields(params.getlist("fullTextFilterFields")) or [],
        )
    page = queries.query_entities(
        query=query,
        cursor=cursor,
        limit=limit,
        offset=_number(request, "offset", 0),
        plan=plan,
        count=totals == "include",
    )
    page_info = {}
    if page.next_cursor:
        page_info["nextCursor"] = page.next_cursor
    if page.prev_cursor:
        page_info["prevCursor"] = page.prev_cursor
    return JsonResponse({"items": page.items, "totalItems": page.total, "pageInfo": page_info})


@csrf_exempt  # a read: it changes nothing a forged request could abuse
@require_POST
@api_auth
@_api_errors
def entities_by_refs(request: HttpRequest) -> HttpResponse:
    body = _json_body(request)
    refs = body.get("entityRefs")
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise InputError("entityRefs must be an array of entity references (strings)")
    if len(refs) > MAX_LIMIT:
        raise InputError(f"at most {MAX_LIMIT} entityRefs per request")
    fields = body.get("fields")
    if fields is not None and (
        not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)
    ):
        raise InputError("fields must be an array of strings")
    if "query" in body:
        raise InputError("predicate queries are not supported; use the filter parameter")
    all_fields = list(fields or []) + request.GET.getlist("fields")
    plan = Plan.for_fields(queries.parse_fields(all_fields))
    items = queries.entities_by_refs(refs, filters=request.GET.getlist("filter"), plan=plan)
    return JsonResponse({"items": items})


def _entity_named(kind: str, namespace: str, name: str) -> Entity | None:
    ref = f"{kind}:{namespace}/{name}"
    # A reference with NUL can't be stored, so it can't exist (and PostgreSQL refuses it).
    return None if "\x00" in ref else Entity.objects.filter(ref=ref.lower()).first()


@require_GET
@api_auth
def entity_by_name(request: HttpRequest, kind: str, namespace: str, name: str) -> JsonResponse:
    entity = _entity_named(kind, namespace, name)
    if entity is None:
        return _error(404, "NotFoundError", f"No entity named '{kind}:{namespace}/{name}' found")
    return JsonResponse(queries.serialize([entity])[0])


@require_GET
@api_auth
def entity_ancestry(request: HttpRequest, kind: str, namespace: str, name: str) -> JsonResponse:
    entity = _entity_named(kind, namespace, name)
    if entity is None:
        return _error(404, "NotFoundError", f"No such entity {kind}:{namespace}/{name}")
    return JsonResponse(queries.entity_ancestry(entity))


@require_GET
@api_auth
def entity_by_uid(request: HttpRequest, uid: str) -> JsonResponse:
    # Backstage's uids are strings; ours are the row ids. Anything else simply isn't found.
    numeric = uid.isascii() and uid.isdigit() and len(uid) <= len(str(MAX_UID))
    pk = int(uid) if numeric and int(uid) <= MAX_UID else None
    entity = None if pk is None else Entity.objects.filter(pk=pk).first()
    if entity is None:
        return _error(404, "NotFoundError", f"No entity with uid {uid}")
    return JsonResponse(queries.serialize([entity])[0])


@require_GET
@api_auth
@_api_errors
def entity_facets(request: HttpRequest) -> JsonResponse:
    columns = {"kind": "kind", "spec.type": "spec_type", "spec.lifecycle": "lifecycle",
               "metadata.namespace": "namespace"}  # fmt: skip
    entities: QuerySet[Entity] = Entity.objects.all()
    filters = request.GET.getlist("filter")
    if filters:  # as in Backstage: the counts of the entities the filter selects
        entities = entities.filter(queries.parse_filters(filters))
    facets: dict[str, list[dict[str, Any]]] = {}
    for facet in request.GET.getlist("facet"):
        column = columns.get(facet)
        if column is None:
            return _error(400, "InputError", f"unsupported facet {facet!r}")
        rows = entities.exclude(**{column: ""}).values(column).annotate(n=Count("id"))
        facets[facet] = [{"value": r[column], "count": r["n"]} for r in rows.order_by(column)]
    return JsonResponse({"facets": facets})


@csrf_exempt  # a read: validation writes nothing
@require_POST
@api_auth
@_api_errors
def validate_entity_view(request: HttpRequest) -> HttpResponse:
    """Backstage's validate-entity: 200 when the catalog would accept the entity, else 400 with
    `{errors: [{name, message}]}` carrying the catalog's own verdict."""
    try:
        body = _json_body(request)
        location = body.get("location")
        if not isinstance(location, str):
            raise InputError("location must be a location reference such as url:https://…")
        ref = parse_location_ref(location)
        if ref.type != "url":
            raise InputError(
                f"Invalid location ref {location[:200]}, only 'url:<target>' is supported, "
                "e.g. url:https://host/path"
            )
        if "entity" not in body:
            raise InputError("entity is required")
    except (InputError, RefError) as exc:
        return JsonResponse({"errors": [{"name": "InputError", "message": str(exc)}]}, status=400)
    verdict = validate_entity(body["entity"], extra_kinds=extra_kind_schemas())
    if verdict.errors:
        errors = [{"name": "InputError", "message": str(e)} for e in verdict.errors]
        return JsonResponse({"errors": errors}, status=400)
    return HttpResponse(status=200)


def _location(loc: Location) -> dict[str, str]:
    return {"id": str(loc.pk), "type": loc.type, "target": loc.target}


@login_not_required  # each method's view checks its own credentials
@csrf_exempt  # POST takes a write token only: no cookie, nothing to forge
@require_http_methods(["GET", "POST"])
def locations_collection(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return create_location(request)
    return list_locations(request)


@api_auth
def list_locations(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        [{"data": _location(loc)} for loc in Location.objects.order_by("id")], safe=False
    )


def _location_by_id(location_id: str) -> Location | None:
    numeric = location_id.isascii() and location_id.isdigit() and len(location_id) < 19
    return Location.objects.filter(pk=int(location_id)).first() if numeric else None


@require_GET
@api_auth
def location_by_entity(request: HttpRequest, kind: str, namespace: str, name: str) -> JsonResponse:
    entity = _entity_named(kind, namespace, name)
    location = entity.location if entity is not None else None
    if location is None:
        return _error(404, "NotFoundError", f"No location for entity {kind}:{namespace}/{name}")
    return JsonResponse(_location(location))


# --- What makes Paved fetch or change locations (tokens with can_write) --------------------------


@login_not_required  # each method's view checks its own credentials
@csrf_exempt  # DELETE takes a write token only: no cookie, nothing to forge
@require_http_methods(["GET", "DELETE"])
def location(request: HttpRequest, location_id: str) -> HttpResponse:
    if request.method == "DELETE":
        return _delete_location(request, location_id)
    return _get_location(request, location_id)


@api_auth
def _get_location(request: HttpRequest, location_id: str) -> HttpResponse:
    found = _location_by_id(location_id)
    if found is None:
        return _error(404, "NotFoundError", f"Found no location with ID {location_id[:40]}")
    return JsonResponse(_location(found))


@api_write_auth
@_api_errors
def _delete_location(request: HttpRequest, location_id: str) -> HttpResponse:
    found = _location_by_id(location_id)
    if found is None:
        return _error(404, "NotFoundError", f"Found no location with ID {location_id[:40]}")
    delete_location(location=found, actor=_user(request))
    return HttpResponse(status=204)


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # api_auth let only signed-in users through
        raise PermissionDenied("sign in or send Authorization: Bearer <token>")
    return user


def _location_input(data: Any) -> Target:
    if not isinstance(data, dict):
        raise InputError("location must be an object with type and target")
    type_, target = data.get("type"), data.get("target")
    if not isinstance(type_, str) or not isinstance(target, str):
        raise InputError("type and target must be strings")
    try:
        return location_target(type_, target)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _read_for(request: HttpRequest, target: Target) -> ReadResult:
    """Read a location as the token's user may (the same rules as the Register page)."""
    user = _user(request)
    refusal = registration_refusal(target=target, actor=user)
    if refusal:
        raise PermissionDenied(refusal)
    read = preview_location(target=target, actor=user)
    if read.refused:
        raise PermissionDenied(read.refused[0])
    if not read.entities:
        problems = "; ".join(read.errors[:3]) or "it holds no catalog entities"
        raise InputError(f"Nothing to register from {target}: {problems}")
    return read


def _unstored(processed: ProcessedEntity) -> dict[str, Any]:
    """An entity as read (not stored): the document, its relations and its problems."""
    body: dict[str, Any] = {
        "apiVersion": processed.doc.get("apiVersion"),
        "kind": processed.kind,
        "metadata": processed.doc.get("metadata") or {},
        "spec": processed.doc.get("spec") or {},
        "relations": [
            {"type": r.type, "targetRef": r.target}
            for r in processed.relations
            if r.source == processed.ref
        ],
    }
    if processed.errors:
        body["status"] = {
            "items": [
                {"type": CATALOG_PROCESSING_STATUS, "level": "error", "message": m}
                for m in processed.errors
            ]
        }
    return body


@csrf_exempt
@require_POST
@api_write_auth
@_api_errors
def create_location(request: HttpRequest) -> HttpResponse:
    """Register a location as the token's user (a developer's Templates wait for approval);
    `?dryRun=true` reads it and answers what would be registered, writing nothing."""
    target = _location_input(_json_body(request))
    dry_run = request.GET.get("dryRun", "").lower() in ("true", "yes", "1", "y")
    existing = Location.objects.filter(type=target.type, target=target.target).first()
    if existing is not None and not dry_run:
        return _error(409, "ConflictError", f"Location {target} already exists")
    read = _read_for(request, target)
    if dry_run:
        shown = {"id": str(existing.pk) if existing else "", "type": target.type,
                 "target": target.target}  # fmt: skip
        entities = [_unstored(p) for p in read.entities.values()]
        return JsonResponse(
            {"exists": existing is not None, "location": shown, "entities": entities}, status=201
        )
    try:
        registered, _result = register_and_refresh(target=target, actor=_user(request), read=read)
    except LocationRefused as exc:
        raise PermissionDenied(str(exc)) from None
    stored = list(Plan().queryset().filter(location=registered).order_by("id"))
    return JsonResponse(
        {"location": _location(registered), "entities": queries.serialize(stored)}, status=201
    )


@csrf_exempt
@require_POST
@api_write_auth
@_api_errors
def analyze_location(request: HttpRequest) -> HttpResponse:
    """Read a location and list the entities it holds, and whether each is in the catalog.
    Paved does not generate entities for folders without a catalog file."""
    body = _json_body(request)
    target = _location_input(body.get("location"))
    filename = body.get("catalogFilename") or body.get("catalogFileName")
    named = isinstance(filename, str) and filename.strip()
    if named and target.type == "repo" and target.target.count("/") == 1:
        target = Target(target.type, f"{target.target}/{str(filename).strip().lstrip('/')}")
    read = _read_for(request, target)
    known = set(Entity.objects.filter(ref__in=list(read.entities)).values_list("ref", flat=True))
    files = []
    for ref, processed in read.entities.items():
        type_, _, where = processed.source.partition(":")
        files.append(
            {
                "entity": _unstored(processed),
                "isRegistered": ref in known,
                "location": {"type": type_, "target": where},
            }
        )
    return JsonResponse({"existingEntityFiles": files, "generateEntities": []})


@csrf_exempt
@require_POST
@api_write_auth
@_api_errors
def refresh(request: HttpRequest) -> HttpResponse:
    """Re-read the location an entity came from, now (platform admins, or its registrant)."""
    raw = _json_body(request).get("entityRef")
    if not isinstance(raw, str) or "\x00" in raw:
        raise InputError("entityRef must be an entity reference such as component:default/x")
    try:
        parsed = parse_ref(raw.strip(), default_namespace="default")
    except RefError as exc:
        raise InputError(str(exc)) from None
    entity = (
        Entity.objects.select_related("location")
        .filter(ref=str(parsed).lower())
        .only("id", "ref", "location")
        .first()
    )
    if entity is None:
        return _error(404, "NotFoundError", f"No entity {raw[:200]}")
    refresh_entity(entity=entity, actor=_user(request))
    return HttpResponse(status=200)


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
