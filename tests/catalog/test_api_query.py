"""The rest of Backstage's catalog API, in Python: by-query cursors over 10,000 entities (fixed
query counts on every page), by-refs batches, fields, order and the answers to bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Entity, Relation
from catalog.services import insert_entities, insert_relations
from tests.catalog.helpers import component, ingest_docs

pytestmark = pytest.mark.django_db

SIZE = 10_000
BY_QUERY = "/api/catalog/entities/by-query"
BY_REFS = "/api/catalog/entities/by-refs"


@pytest.fixture
def big_catalog() -> None:
    """10,000 components (a third websites, every tenth without a lifecycle), each owned by
    a group, written in bulk as ingestion writes them."""
    now = timezone.now()
    rows = []
    for i in range(SIZE):
        name = f"svc-{i:05d}"
        spec = {"type": "website" if i % 3 == 0 else "service", "owner": "team-orders"}
        if i % 10:
            spec["lifecycle"] = "production"
        rows.append({
            "kind": "Component", "namespace": "default", "name": name,
            "ref": f"component:default/{name}", "api_version": "backstage.io/v1alpha1",
            "title": "", "description": "", "spec_type": spec["type"],
            "lifecycle": spec.get("lifecycle", ""), "owner_ref": "group:default/team-orders",
            "tags": [], "metadata": {"name": name, "namespace": "default"}, "spec": spec,
            "source": "", "search_text": name, "etag": f"e{i}", "processing_errors": [],
            "processing_warnings": [],
            "location_id": None, "created_at": now, "updated_at": now,
        })  # fmt: skip
    insert_entities(rows)
    insert_relations(
        [
            Relation(source_id=pk, type="ownedBy", target_ref="group:default/team-orders")
            for pk in Entity.objects.values_list("id", flat=True)
        ]
    )


def _get(client: Any, url: str, params: dict[str, Any]) -> tuple[dict[str, Any], int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json(), len(queries)


def test_by_query_cursor_walks_10000_entities_with_the_same_queries_on_every_page(
    owner_client: Any, big_catalog: None
) -> None:
    params = {"filter": "kind=component", "orderField": "metadata.name,desc", "limit": 500,
              "fields": "metadata.name,relations"}  # fmt: skip
    page, first_queries = _get(owner_client, BY_QUERY, params)
    assert page["totalItems"] == SIZE
    seen = [e["metadata"]["name"] for e in page["items"]]
    counts = []
    while "nextCursor" in page["pageInfo"]:
        # As in Backstage, `fields` (and `limit`) go with every request; the cursor has the rest.
        page, n = _get(owner_client, BY_QUERY, {"cursor": page["pageInfo"]["nextCursor"],
                                                 "limit": 500, "fields": params["fields"]})  # fmt: skip
        counts.append(n)
        seen += [e["metadata"]["name"] for e in page["items"]]
        assert page["totalItems"] == SIZE  # carried by the cursor, not counted again
    assert seen == sorted((f"svc-{i:05d}" for i in range(SIZE)), reverse=True)
    assert page["items"][-1] == {
        "metadata": {"name": "svc-00000"},
        "relations": [{"type": "ownedBy", "targetRef": "group:default/team-orders"}],
    }
    # Session (2) + entities + relations; the first page also counts.
    assert counts == [4] * 19
    assert first_queries == 5
    # Back one page from the last: the 500 before it, in the same order.
    back, n = _get(owner_client, BY_QUERY, {"cursor": page["pageInfo"]["prevCursor"],
                                            "limit": 500, "fields": "metadata.name"})  # fmt: skip
    assert [e["metadata"]["name"] for e in back["items"]] == seen[-1000:-500]
    assert n == 3  # no relations asked for, none read


def test_by_query_orders_entities_without_the_field_last_across_pages(
    owner_client: Any, big_catalog: None
) -> None:
    params = {"orderField": "spec.lifecycle,asc", "limit": 700, "fields": "metadata.name"}
    page, _ = _get(owner_client, BY_QUERY, {**params, "filter": "spec.type=website"})
    names = [e["metadata"]["name"] for e in page["items"]]
    while "nextCursor" in page["pageInfo"]:
        page, _ = _get(owner_client, BY_QUERY, {"cursor": page["pageInfo"]["nextCursor"],
                                                "limit": 700})  # fmt: skip
        names += [e["metadata"]["name"] for e in page["items"]]
    websites = [i for i in range(SIZE) if i % 3 == 0]
    with_lifecycle = [f"svc-{i:05d}" for i in websites if i % 10]
    without = [f"svc-{i:05d}" for i in websites if not i % 10]
    # Equal values keep uid order; the entities without a lifecycle come last, in uid order.
    assert names == with_lifecycle + without


def test_by_query_full_text_offset_and_total_items(owner_client: Any, big_catalog: None) -> None:
    body, _ = _get(owner_client, BY_QUERY, {"fullTextFilterTerm": "SVC-0999",
                                            "fullTextFilterFields": "metadata.name"})  # fmt: skip
    assert body["totalItems"] == 10
    assert [e["metadata"]["name"] for e in body["items"]] == [f"svc-0999{i}" for i in range(10)]
    body, _ = _get(owner_client, BY_QUERY, {"filter": "kind=component", "offset": 9_998,
                                            "totalItems": "exclude"})  # fmt: skip
    assert [e["metadata"]["name"] for e in body["items"]] == ["svc-09998", "svc-09999"]
    assert body["totalItems"] == 0
    assert body["pageInfo"] == {}


def test_by_refs_answers_1000_refs_in_order_with_nulls_in_a_fixed_number_of_queries(
    owner_client: Any, big_catalog: None
) -> None:
    def post(refs: list[str], **extra: Any) -> tuple[Any, int]:
        with CaptureQueriesContext(connection) as queries:
            response = owner_client.post(BY_REFS, json.dumps({"entityRefs": refs, **extra}),
                                         content_type="application/json")  # fmt: skip
        assert response.status_code == 200, response.content
        return response.json()["items"], len(queries)

    refs = [f"component:default/svc-{i:05d}" for i in range(9_999, 8_999, -1)]
    refs[10] = "component:default/nope"
    items, queries = post(refs)
    assert len(items) == 1000
    assert items[10] is None
    assert items[0]["metadata"]["name"] == "svc-09999"
    assert items[-1]["relations"] == [{"type": "ownedBy", "targetRef": "group:default/team-orders"}]
    assert queries == 4  # session (2), entities, relations
    few, few_queries = post(refs[:3], fields=["metadata.name"])
    assert few == [{"metadata": {"name": "svc-09999"}}, {"metadata": {"name": "svc-09998"}},
                   {"metadata": {"name": "svc-09997"}}]  # fmt: skip
    assert few_queries == 3  # no relations asked for, none read
    # Refs compare case-insensitively; the filter parameter narrows the batch.
    response = owner_client.post(
        f"{BY_REFS}?filter=spec.type=website",
        json.dumps({"entityRefs": ["Component:default/SVC-00003", "component:default/svc-00004"]}),
        content_type="application/json",
    )
    assert [i and i["metadata"]["name"] for i in response.json()["items"]] == ["svc-00003", None]


def test_entity_facets_count_only_what_the_filter_selects_in_one_query_per_facet(
    owner_client: Any, big_catalog: None
) -> None:
    url = "/api/catalog/entity-facets"
    params = {"facet": ["kind", "spec.lifecycle", "spec.type"], "filter": "spec.type=website"}
    body, queries = _get(owner_client, url, params)
    websites = len(range(0, SIZE, 3))  # 3,334
    assert body["facets"] == {
        "kind": [{"value": "Component", "count": websites}],
        # Every tenth has no lifecycle, so it has no value to count.
        "spec.lifecycle": [{"value": "production", "count": websites - len(range(0, SIZE, 30))}],
        "spec.type": [{"value": "website", "count": websites}],
    }
    assert queries == 2 + 3  # session (2), one per facet
    unfiltered, _ = _get(owner_client, url, {"facet": "spec.type"})
    assert unfiltered["facets"]["spec.type"] == [
        {"value": "service", "count": SIZE - websites},
        {"value": "website", "count": websites},
    ]
    # Separate filter parameters are ORed, as everywhere in the API.
    either, _ = _get(owner_client, url, {"facet": "spec.type",
                                         "filter": ["spec.type=website", "spec.type=service"]})  # fmt: skip
    assert either == unfiltered
    bad = owner_client.get(url, {"facet": "kind", "filter": "relations.own ed=x"})
    assert bad.status_code == 400
    assert bad.json()["error"] == {
        "name": "InputError", "message": "unsupported filter key 'relations.own ed'"}  # fmt: skip


def test_fields_and_order_on_the_legacy_list(owner_client: Any, tmp_path: Path) -> None:
    ingest_docs(tmp_path, [component("orders"), component("billing"), component("shop-web")])
    url = "/api/catalog/entities"
    full = owner_client.get(url, {"filter": "kind=component"})
    small = owner_client.get(url, {"filter": "kind=component", "fields": "kind,metadata.name",
                                   "order": "desc:metadata.name"})  # fmt: skip
    assert small.json() == [{"kind": "Component", "metadata": {"name": n}}
                            for n in ["shop-web", "orders", "billing"]]  # fmt: skip
    assert len(small.content) * 5 < len(full.content)
    ordered = owner_client.get(url, {"filter": "kind=component",
                                     "order": ["asc:spec.type", "desc:metadata.name"]}).json()  # fmt: skip
    assert [e["metadata"]["name"] for e in ordered] == ["shop-web", "orders", "billing"]


@pytest.mark.parametrize(
    ("url", "params", "message"),
    [
        (BY_QUERY, {"cursor": "bm90LWEtY3Vyc29y"}, "Malformed cursor"),
        (BY_QUERY, {"cursor": "%%%"}, "Malformed cursor"),
        (BY_QUERY, {"orderField": "metadata.name,sideways"}, "must be asc or desc"),
        (BY_QUERY, {"orderField": "relations.ownedBy,asc"}, "unsupported order field"),
        (BY_QUERY, {"fields": "metadata.tags[0]"}, "array type fields are not supported"),
        (BY_QUERY, {"totalItems": "maybe"}, "include or exclude"),
        (BY_QUERY, {"fullTextFilterTerm": "a\x00b"}, "NUL"),
        (BY_QUERY, {"filter": "relations.owned by=x"}, "unsupported filter key"),
        ("/api/catalog/entities", {"order": "metadata.name"}, "expected"),
    ],
)
def test_bad_parameters_are_400_with_the_reason(
    owner_client: Any, url: str, params: dict[str, str], message: str
) -> None:
    response = owner_client.get(url, params)
    assert response.status_code == 400
    assert response.json()["error"]["name"] == "InputError"
    assert message in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "must be JSON"),
        (b"[]", "JSON object"),
        (b'{"entityRefs": "component:default/x"}', "array of entity references"),
        (b'{"entityRefs": [1]}', "array of entity references"),
        (b'{"entityRefs": [], "fields": "kind"}', "fields must be an array"),
    ],
)
def test_bad_by_refs_bodies_are_400(owner_client: Any, body: bytes, message: str) -> None:
    response = owner_client.post(BY_REFS, body, content_type="application/json")
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_relation_filters_and_the_location_of_an_entity(owner_client: Any, tmp_path: Path) -> None:
    ingest_docs(tmp_path, [component("orders"), component("billing", owner="team-payments")])
    body = owner_client.get(
        BY_QUERY, {"filter": "kind=component,relations.ownedBy=group:default/team-payments"}
    ).json()
    assert [e["metadata"]["name"] for e in body["items"]] == ["billing"]
    location = owner_client.get("/api/catalog/locations/by-entity/component/default/orders")
    assert location.json()["target"] == str(tmp_path / "catalog.yaml")
    missing = owner_client.get("/api/catalog/locations/by-entity/component/default/nope")
    assert missing.status_code == 404
