"""Entity pickers autocomplete from the catalog (one query, however large) and validate on the
server: an existing entity reference that matches the field's catalogFilter / allowedKinds."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.models import Entity, make_ref
from scaffolder.forms import field_view
from scaffolder.parameters import picker_filter, validate_page

pytestmark = [pytest.mark.django_db]

OWNER = {"type": "string", "ui:field": "OwnerPicker", "ui:options": {"allowedKinds": ["Group"]}}
SYSTEM = {
    "type": "string",
    "ui:field": "EntityPicker",
    "ui:options": {
        "catalogFilter": [{"kind": "System"}, {"kind": "Component", "spec.type": "website"}]
    },
}
MULTI = {"type": "array", "items": {"type": "string"}, "ui:field": "MultiEntityPicker",
         "ui:options": {"catalogFilter": {"kind": ["Group", "User"]}}}  # fmt: skip


def _entity(kind: str, name: str, **extra: Any) -> Entity:
    return Entity.objects.create(kind=kind, name=name, ref=make_ref(kind, "default", name), **extra)


def _big_catalog(size: int) -> None:
    kinds = ["Component", "Group", "User", "System", "API"]
    Entity.objects.bulk_create(
        Entity(
            kind=kinds[i % 5],
            name=f"thing-{i}",
            ref=make_ref(kinds[i % 5], "default", f"thing-{i}"),
            spec_type="service" if i % 5 == 0 else "",
        )
        for i in range(size)
    )


def _search(client: Client, prop: dict[str, Any], text: str, name: str = "owner") -> str:
    url = field_view(name, prop, None, required=False).search_url
    response = client.get(url + "&" + f"{name}={text}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


def test_filters_follow_backstage() -> None:
    assert picker_filter(OWNER) == [{"kind": ["Group"]}]
    assert picker_filter({"ui:field": "OwnerPicker"}) == [{"kind": ["Group", "User"]}]
    assert picker_filter({"ui:field": "EntityPicker"}) == []  # everything
    assert picker_filter({"ui:field": "MyGroupsPicker"}) == [{"kind": ["Group"]}]
    both = {"ui:field": "EntityPicker",
            "ui:options": {"catalogFilter": {"kind": "API"}, "allowedKinds": ["Group"]}}  # fmt: skip
    assert picker_filter(both) == [{"kind": ["API"]}]  # catalogFilter wins, as in Backstage
    exists = {"ui:options": {"catalogFilter": {"spec.owner": {"exists": True}}}}
    assert picker_filter(exists) == [{"spec.owner": ["CATALOG_FILTER_EXISTS"]}]


def test_search_is_filtered_limited_and_one_query_on_ten_thousand_entities(
    owner_client: Client,
) -> None:
    _big_catalog(10_000)
    Entity.objects.filter(ref="group:default/team-orders").update(title="Orders team")
    _entity("System", "shop")
    _entity("Component", "shop-site", spec_type="website")
    _entity("Component", "shop-api", spec_type="service")

    owner_client.get("/create/")  # session and user loaded once before counting
    with CaptureQueriesContext(connection) as queries:
        html = _search(owner_client, OWNER, "orders")
    catalog_queries = [q for q in queries.captured_queries if "catalog_entity" in q["sql"]]
    assert len(catalog_queries) == 1
    assert len(queries) <= 3  # the search, plus the session and user of the signed-in request
    assert 'role="option"' in html
    assert 'data-value="group:default/team-orders"' in html
    assert "Orders team" in html

    many = _search(owner_client, OWNER, "thing")
    assert many.count('role="option"') == 20  # limited
    assert "component:default" not in many  # Groups only

    systems = _search(owner_client, SYSTEM, "shop", name="system")
    assert 'data-value="system:default/shop"' in systems
    assert 'data-value="component:default/shop-site"' in systems  # second OR-ed filter
    assert "shop-api" not in systems  # a Component, but not a website
    assert "No match for" in _search(owner_client, OWNER, "zzz-nothing")


def test_search_needs_login_and_a_wellformed_filter(owner_client: Client) -> None:
    url = field_view("owner", OWNER, None, required=False).search_url
    response = Client().get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    bad = owner_client.get("/create/entities?param=owner&filter=%7Bnope")
    assert bad.status_code == 400


def test_widget_is_an_accessible_combobox(owner_client: Client) -> None:
    view = field_view("owner", OWNER, "group:default/team-orders", required=True)
    assert view.widget == "entity"
    query = parse_qs(urlparse(view.search_url).query)
    assert json.loads(query["filter"][0]) == [{"kind": ["Group"]}]
    from django.template.loader import render_to_string

    html = render_to_string("scaffolder/_field.html", {"f": view, "validate_url": "/v"})
    assert 'role="combobox"' in html
    assert 'aria-controls="id_owner__listbox"' in html
    assert 'role="listbox" id="id_owner__listbox"' in html
    assert 'value="group:default/team-orders"' in html
    assert "<select" not in html  # no list of every entity in the page


def test_validation_requires_an_existing_entity_of_an_allowed_kind(team: Entity) -> None:
    _entity("Component", "shop-api", spec_type="service")
    page = {"properties": {"owner": OWNER, "system": SYSTEM, "people": MULTI}}

    assert validate_page(page, {"owner": "group:default/team-orders"}) == {}
    assert validate_page(page, {"owner": "team-orders"}) == {}  # short form, default kind
    assert validate_page(page, {"owner": "group:default/nope"}) == {
        "owner": ["group:default/nope is not in the catalog; pick one from the list"]
    }
    assert validate_page(page, {"owner": "component:default/shop-api"}) == {
        "owner": ["component:default/shop-api is a component; choose a Group"]
    }
    assert validate_page(page, {"system": "component:default/shop-api"}) == {
        "system": ["component:default/shop-api does not match this field's filter; pick one from the list"]
    }  # fmt: skip
    assert "is not an entity reference" in validate_page(page, {"owner": "group:"})["owner"][0]
    assert validate_page(page, {"people": ["group:default/team-orders"]}) == {}
    assert validate_page(page, {"people": ["group:default/team-orders", "user:default/ghost"]}) == {
        "people": ["user:default/ghost is not in the catalog; pick one from the list"]
    }
    arbitrary = {"ui:field": "EntityPicker",
                 "ui:options": {"allowedKinds": ["Group"], "allowArbitraryValues": True}}  # fmt: skip
    assert validate_page({"properties": {"o": arbitrary}}, {"o": "group:default/new-team"}) == {}


def test_validation_is_one_query_for_many_values() -> None:
    _big_catalog(500)
    refs = [make_ref("Group", "default", f"thing-{i}") for i in range(1, 500, 5)]
    with CaptureQueriesContext(connection) as queries:
        assert validate_page({"properties": {"people": MULTI}}, {"people": refs}) == {}
    assert len(queries) == 1


def test_multi_entity_picker_appends_references_to_a_list(team: Entity) -> None:
    from django.http import QueryDict
    from django.template.loader import render_to_string

    from scaffolder.forms import parse_page

    view = field_view("people", MULTI, ["group:default/team-orders"], required=False)
    assert view.widget == "entity-multi"
    assert parse_qs(urlparse(view.search_url).query)["param"] == ["people__search"]
    html = render_to_string("scaffolder/_field.html", {"f": view, "validate_url": "/v"})
    assert '<textarea name="people"' in html
    assert "group:default/team-orders</textarea>" in html
    assert 'name="people__search"' in html
    assert 'data-combobox-append="id_people"' in html
    assert 'aria-controls="id_people__search__listbox"' in html
    data = QueryDict(mutable=True)
    data.update(
        {"people": "group:default/team-orders\nuser:default/olivia\n", "people__search": "oli"}
    )
    values = parse_page({"properties": {"people": MULTI}}, {}, data)
    assert values == {"people": ["group:default/team-orders", "user:default/olivia"]}


def test_owner_picker_offers_my_teams_first_and_others_only_on_search(
    owner_client: Client, team: Entity, other_team: Entity
) -> None:
    _entity("Group", "acme", title="ACME Corp", spec={"type": "organization"})
    Entity.objects.filter(pk=team.pk).update(title="Orders Team")
    owner_client.get("/create/")
    with CaptureQueriesContext(connection) as queries:
        empty = _search(owner_client, OWNER, "")
    assert len([q for q in queries.captured_queries if "catalog_entity" in q["sql"]]) == 1
    # Nothing typed: only my own team (never the organisation as the first suggestion).
    assert 'data-value="group:default/team-orders"' in empty
    assert "Orders Team" in empty
    assert "acme" not in empty
    assert "team-payments" not in empty
    assert "Type to find another team." in empty
    # Typing finds the others, with my team first.
    typed = _search(owner_client, OWNER, "team")
    assert typed.index("group:default/team-orders") < typed.index("group:default/team-payments")
    assert 'data-value="group:default/acme"' in _search(owner_client, OWNER, "acme")


def test_owner_picker_without_a_team_lists_every_group(client: Client, other_team: Entity) -> None:
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_user("loner", "loner@example.com", "x"))
    assert 'data-value="group:default/team-payments"' in _search(client, OWNER, "")


def test_people_and_teams_show_their_display_names(owner_client: Client) -> None:
    _entity("Group", "team-search", spec={"profile": {"displayName": "Search Squad"}})
    html = _search(owner_client, OWNER, "search")
    assert "Search Squad" in html
    assert '<span class="help">group:default/team-search</span>' in html  # the ref, secondary
