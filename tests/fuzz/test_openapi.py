"""Schemathesis against the published OpenAPI document (catalog/openapi.yaml), through Django's
WSGI application in this process: generated requests, valid and invalid, for every operation.

Checks: no 5xx, every status code documented, content type and body as the schema says,
invalid input rejected. The catalog API is called with a session, the events API with an
integration token; both also without credentials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import schemathesis
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from catalog.api import openapi_document
from catalog.models import ApiToken
from catalog.tokens import create_token, hash_token
from portal.wsgi import application
from tests.catalog.helpers import component, ingest_docs

pytestmark = pytest.mark.django_db

# schemathesis' WSGI transport sets cookies for the domain "localhost" (in ALLOWED_HOSTS).
BASE_URL = "http://localhost"
# Bounded so the whole module stays well under a minute on two shared cores.
EXAMPLES = hypothesis_settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.filter_too_much],
)  # fmt: skip
# The events API checks each event on its own and stores the valid ones: an array with one
# schema-violating event is still accepted (202) for the others, and a schema-valid event can be
# refused by a cross-field rule (started_at after finished_at) — both documented in the schema's
# prose. So "valid data accepted" / "invalid data rejected" apply only to the catalog API there.
#
# Some catalog operations refuse schema-valid input for reasons a schema cannot state, so
# "valid data accepted" is off for them (every other check stays): a cursor must be one the
# server issued; validate-entity answers 400 for an invalid entity by design; and the location
# writes refuse most targets (files for developers, hosts nobody allowed, repositories that do
# not exist, locations of other people), which is the point of the trust boundary.
REFUSES_VALID_INPUT = ["queryEntities", "validateEntity", "createLocation", "deleteLocation",
                       "analyzeLocation", "refreshEntity"]  # fmt: skip
CONFIG = schemathesis.Config.from_str(
    """
[[operations]]
include-path = "/api/metrics/events"
checks.positive_data_acceptance.enabled = false
checks.negative_data_rejection.enabled = false
"""
    + "".join(
        f"""
[[operations]]
include-operation-id = "{operation_id}"
checks.positive_data_acceptance.enabled = false
"""
        for operation_id in REFUSES_VALID_INPUT
    )
)
# Operations that need a catalog API token with write access (a session gets 403).
WRITES = {("/api/catalog/locations", "post"), ("/api/catalog/locations/{id}", "delete"),
          ("/api/catalog/analyze-location", "post"), ("/api/catalog/refresh", "post")}  # fmt: skip
SCHEMA = schemathesis.openapi.from_dict(openapi_document(), config=CONFIG)
SCHEMA.app = application  # also for the checks' own follow-up requests (e.g. without auth)
OPERATIONS = [
    (path, method)
    for path, methods in openapi_document()["paths"].items()
    for method in methods
]  # fmt: skip


@pytest.fixture(autouse=True)
def wsgi_in_test_transaction() -> Iterator[None]:
    """Like Django's test client: the real WSGI handler must not close the test's connection
    at the end of each request (it is inside the test transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def credentials(owner: User, tmp_path: Path) -> dict[str, Any]:
    ingest_docs(
        tmp_path,
        [
            component("orders", metadata={"annotations": {"github.com/project-slug": "acme/orders"},
                                          "tags": ["python", "fastapi"]}),
            component("billing", owner="team-payments"),
        ],
    )  # fmt: skip
    client = Client()
    client.force_login(owner)
    _row, token = create_token(name="ci", scope=ApiToken.Scope.METRICS_EVENTS)
    write_token = "pvd_fuzz-write-token"
    ApiToken.objects.create(name="fuzz", user=owner, token_hash=hash_token(write_token),
                            prefix=write_token[:12], can_write=True)  # fmt: skip
    return {
        "cookies": {django_settings.SESSION_COOKIE_NAME: client.cookies["sessionid"].value},
        "headers": {"Authorization": f"Bearer {token}"},
        "write": {"Authorization": f"Bearer {write_token}"},
    }


def _auth_for(path: str, credentials: dict[str, Any], method: str = "get") -> dict[str, Any]:
    if path.startswith("/api/metrics/"):
        return {"headers": credentials["headers"]}
    if (path, method.lower()) in WRITES:
        return {"headers": credentials["write"]}
    return {"cookies": credentials["cookies"]}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_operation_conforms_to_its_schema(
    path: str, method: str, mode: GenerationMode, credentials: dict[str, Any]
) -> None:
    operation = SCHEMA[path][method.upper()]
    strategy = operation.as_strategy(generation_mode=mode, **_auth_for(path, credentials, method))

    seen: set[int] = set()

    @EXAMPLES
    @given(case=strategy)
    def check(case: schemathesis.Case) -> None:
        seen.add(case.call_and_validate(base_url=BASE_URL, app=application).status_code)

    check()
    # The credentials were really used: not everything bounced off authentication.
    assert seen - {401, 403}, seen


# Inputs that gave a 500 before the schema existed (see docs/api.md, "What schemathesis found"),
# replayed through schemathesis so the answer is checked against the schema too.
REGRESSIONS = [
    ("/api/catalog/entities", {"query": {"limit": "-1"}}, 400),
    ("/api/catalog/entities", {"query": {"offset": "-3"}}, 400),
    ("/api/catalog/entities", {"query": {"offset": "99999999999999999999"}}, 400),
    ("/api/catalog/entities", {"query": {"filter": ["spec.x__gt=1"]}}, 400),
    ("/api/catalog/entities", {"query": {"filter": ["kind=a\x00b"]}}, 400),
    ("/api/catalog/entities", {"query": {"filter": ["metadata.annotations.a\x00=b"]}}, 400),
    ("/api/catalog/entities/by-name/{kind}/{namespace}/{name}",
     {"path_parameters": {"kind": "component", "namespace": "default", "name": "a\x00b"}}, 404),
    ("/api/catalog/entities/by-uid/{uid}", {"path_parameters": {"uid": "abc"}}, 404),
    ("/api/catalog/entities/by-uid/{uid}", {"path_parameters": {"uid": "9" * 30}}, 404),
    ("/api/catalog/entities/by-uid/{uid}", {"path_parameters": {"uid": "9" * 5000}}, 404),
    ("/api/catalog/entities", {"query": {"limit": "9" * 5000}}, 400),
    ("/api/metrics/events", {"body": {"type": "change", "component": "orders", "sha": "c1",
                                      "committed_at": "2026-03-01T10:00:00+19:40"}}, 202),
    ("/api/metrics/events", {"body": {"type": "change", "component": "orders", "sha": "c2",
                                      "committed_at": "0001-01-01T00:00:00+01:00"}}, 400),
]  # fmt: skip


@pytest.mark.parametrize(("path", "parts", "status"), REGRESSIONS)
def test_inputs_that_used_to_crash_get_documented_answers(
    path: str, parts: dict[str, Any], status: int, credentials: dict[str, Any]
) -> None:
    method = "POST" if path.startswith("/api/metrics/") else "GET"
    auth = _auth_for(path, credentials)
    case = SCHEMA[path][method].Case(
        media_type="application/json" if method == "POST" else None,
        headers=auth.get("headers"),
        cookies=auth.get("cookies"),
        **parts,
    )
    response = case.call(base_url=BASE_URL, app=application)
    assert response.status_code == status, response.text
    # Not every replayed input is schema-valid, so check only what holds for any input.
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                             content_type_conformance, response_schema_conformance])  # fmt: skip


def test_known_entities_are_served_as_documented(credentials: dict[str, Any]) -> None:
    """Random names rarely hit a real entity: ask for the ones that exist, and check the 200s."""
    cookies = credentials["cookies"]
    by_name = SCHEMA["/api/catalog/entities/by-name/{kind}/{namespace}/{name}"]["GET"].Case(
        path_parameters={"kind": "Component", "namespace": "default", "name": "orders"},
        cookies=cookies,
    )
    entity = by_name.call_and_validate(base_url=BASE_URL, app=application).json()
    assert entity["metadata"]["name"] == "orders"
    by_uid = SCHEMA["/api/catalog/entities/by-uid/{uid}"]["GET"].Case(
        path_parameters={"uid": entity["metadata"]["uid"]}, cookies=cookies
    )
    assert by_uid.call_and_validate(base_url=BASE_URL, app=application).json() == entity
    listing = SCHEMA["/api/catalog/entities"]["GET"].Case(
        query={"filter": ["kind=component,metadata.tags=fastapi"], "limit": 5}, cookies=cookies
    )
    assert [e["metadata"]["name"] for e in listing.call_and_validate(
        base_url=BASE_URL, app=application).json()] == ["orders"]  # fmt: skip
    facets = SCHEMA["/api/catalog/entity-facets"]["GET"].Case(
        query={"facet": ["kind", "spec.type"]}, cookies=cookies
    )
    body = facets.call_and_validate(base_url=BASE_URL, app=application).json()
    assert {"value": "Component", "count": 2} in body["facets"]["kind"]


def test_unknown_api_url_answers_json_404(client: Client) -> None:
    response = client.get("/api/catalog/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["name"] == "NotFoundError"
    assert client.get("/no-such-page/").headers["Content-Type"].startswith("text/html")


def test_schema_is_served_to_api_users_only(client: Client, owner: User) -> None:
    anonymous = client.get("/api/openapi.json")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["name"] == "AuthenticationError"
    client.force_login(owner)
    served = client.get("/api/openapi.json").json()
    assert served == openapi_document()
    assert set(served["paths"]) >= {"/api/catalog/entities", "/api/metrics/events"}


@pytest.mark.parametrize("path", ["/api/metrics/events", "/hooks/argocd"])
def test_oversized_body_is_413_json(client: Client, settings: Any, path: str) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.PAVED_ARGOCD_WEBHOOK_TOKEN = "t"
    _row, token = create_token(name="ci", scope=ApiToken.Scope.METRICS_EVENTS)
    response = client.post(path, b"[" + b" " * 2000 + b"]", content_type="application/json",
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert response.status_code == 413
    assert response.json() == {"error": "payload too large (the limit is 1000 bytes)"}


def test_document_is_valid_openapi_3_1() -> None:
    # The OpenAPI 3.1 meta-schema that schemathesis ships (the network is not reachable here).
    from schemathesis.specs.openapi.definitions import OPENAPI_31

    validator = jsonschema.validators.validator_for(OPENAPI_31)(OPENAPI_31)
    problems = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(openapi_document())]
    assert problems == []
    operation_ids = [
        operation["operationId"]
        for methods in openapi_document()["paths"].values()
        for operation in methods.values()
    ]
    assert len(operation_ids) == len(set(operation_ids))
