"""Catalog pages: list (filters, search, HTMX, pinned query count), entity tabs, people pages,
register flow."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from catalog.models import Entity, Location
from tests.catalog.helpers import component, ingest_docs

pytestmark = pytest.mark.django_db
LIST = "/catalog/"

OPENAPI = """openapi: 3.0.0
info: {title: Orders API, version: 1.2.0}
paths:
  /orders/{id}:
    get:
      summary: Fetch one order
      parameters: [{name: id, in: path, required: true}]
      responses: {'200': {description: the order}}
"""


@pytest.fixture
def catalog(tmp_path: Path, owner: Any, team: Entity) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text(
        "# Orders\n\n## Running it\n\n<script>alert(1)</script>Start it.\n"
    )
    docs = [
        component("orders", providesApis=["orders-api"], dependsOn=["component:ghost"],
                  system="shop", metadata={"annotations": {"backstage.io/techdocs-ref": "dir:."},
                  "tags": ["python", "critical"]}),
        component("payments-ui", owner="team-payments", metadata={"tags": ["react"]},
                  type="website"),
        {"apiVersion": "backstage.io/v1alpha1", "kind": "API", "metadata": {"name": "orders-api"},
         "spec": {"type": "openapi", "lifecycle": "production", "owner": "team-orders",
                  "definition": OPENAPI}},
        {"apiVersion": "backstage.io/v1alpha1", "kind": "Group",
         "metadata": {"name": "team-orders"}, "spec": {"type": "team", "children": []}},
        {"apiVersion": "backstage.io/v1alpha1", "kind": "User", "metadata": {"name": "olivia"},
         "spec": {"memberOf": ["team-orders"]}},
        {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "broken"},
         "spec": {"type": "service", "owner": "team-orders"}},
    ]  # fmt: skip
    ingest_docs(tmp_path, docs)
    return tmp_path


def test_list_filters_and_search(owner_client: Any, catalog: Path) -> None:
    body = owner_client.get(LIST).content.decode()
    assert "orders" in body
    assert "payments-ui" in body
    assert "team-orders" in body
    only_websites = owner_client.get(LIST, {"type": "website"}).content.decode()
    assert "payments-ui" in only_websites
    assert ">orders<" not in only_websites
    tagged = owner_client.get(LIST, {"tag": "critical"}).content.decode()
    assert "The orders service" in tagged
    assert "payments-ui" not in tagged
    # Search by word prefix, as you type.
    found = owner_client.get(LIST, {"q": "paym"}).content.decode()
    assert "payments-ui" in found
    assert "The orders service" not in found
    mine = owner_client.get(LIST, {"mine": "1"}).content.decode()
    assert "The orders service" in mine
    assert "payments-ui" not in mine
    assert "1 entity" in owner_client.get(LIST, {"kind": "api"}).content.decode()


def test_list_shows_components_by_default_with_a_kind_switcher(
    owner_client: Any, catalog: Path
) -> None:
    Entity.objects.filter(ref="group:default/team-orders").update(
        spec={"type": "team", "profile": {"displayName": "Orders Team"}}
    )
    body = owner_client.get(LIST).content.decode()
    assert "The orders service" in body
    assert 'href="/catalog/default/user/olivia/"' not in body  # people are under "People"
    assert 'aria-label="Kinds"' in body
    assert 'href="?kind=group"' in body
    assert 'href="?kind=all"' in body
    # The owner column names the team; the ref is only its title.
    assert 'title="group:default/team-orders">Orders Team</a>' in body
    people = owner_client.get(LIST, {"kind": "user"}).content.decode()
    assert 'href="/catalog/default/user/olivia/"' in people
    assert "The orders service" not in people
    everything = owner_client.get(LIST, {"kind": "all"}).content.decode()
    assert 'href="/catalog/default/user/olivia/"' in everything
    assert "The orders service" in everything


def test_tag_chips_filter_the_list(owner_client: Any, catalog: Path) -> None:
    body = owner_client.get(LIST).content.decode()
    assert 'href="?tag=critical"' in body  # not "??tag=critical"
    assert "??" not in body
    tagged = owner_client.get(LIST, {"tag": "critical"}).content.decode()
    assert "The orders service" in tagged
    assert "payments-ui" not in tagged
    assert "tagged" in tagged
    assert "show all tags" in tagged


def test_pagination_on_ten_thousand_entities(
    client: Any, owner: Any, django_assert_max_num_queries: Any
) -> None:
    import time

    Entity.objects.bulk_create(
        Entity(
            kind="Component" if i % 4 else "User",
            name=f"svc-{i:05}",
            ref=f"{'component' if i % 4 else 'user'}:default/svc-{i:05}",
            owner_ref="group:default/team-orders" if i % 4 else "",
            tags=["python"] if i % 2 else ["go"],
            spec_type="service",
        )
        for i in range(10_000)
    )
    client.force_login(owner)
    client.get("/")
    started = time.monotonic()
    with django_assert_max_num_queries(9):
        first = client.get(LIST).content.decode()
    elapsed = time.monotonic() - started
    assert "7500 entities" in first  # Components only
    assert "Page 1 of 300" in first
    assert 'href="?page=2"' in first
    with django_assert_max_num_queries(9):
        later = client.get(LIST, {"page": "3", "tag": "python"}).content.decode()
    assert "Page 3 of 200" in later
    assert 'href="?page=4&amp;tag=python"' in later or 'href="?tag=python&amp;page=4"' in later
    assert elapsed < 2.0, f"the first page took {elapsed:.2f}s"


def test_htmx_request_gets_only_the_results(owner_client: Any, catalog: Path) -> None:
    response = owner_client.get(LIST, {"q": "orders"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="results"')
    assert "<html" not in body
    assert response["Vary"].find("HX-Request") >= 0


@pytest.mark.parametrize("count", [1, 50])
def test_list_query_count_is_independent_of_size(
    client: Any, owner: Any, tmp_path: Path, count: int, django_assert_num_queries: Any
) -> None:
    ingest_docs(tmp_path, [component(f"svc-{i}") for i in range(count)])
    client.force_login(owner)
    client.get("/")  # absorbs once-a-day writes of other apps (daily-active-user middleware)
    # session + user, count + page, kind tabs (1), facets (2), the owners' display names (1);
    # "mine" filters by the user's teams as a subquery, not a query of its own
    with django_assert_num_queries(8):
        response = client.get(LIST, {"q": "svc", "mine": "1", "sort": "-updated"})
    assert response.status_code == 200
    assert f"{count} entit" in response.content.decode()


@pytest.mark.parametrize("count", [1, 50])
def test_entity_page_query_count_is_independent_of_relations(
    client: Any, owner: Any, tmp_path: Path, count: int, django_assert_num_queries: Any
) -> None:
    deps = [f"component:svc-{i}" for i in range(count)]
    ingest_docs(
        tmp_path, [component("hub", dependsOn=deps)] + [component(f"svc-{i}") for i in range(count)]
    )
    client.force_login(owner)
    client.get("/")  # absorbs once-a-day writes of other apps (daily-active-user middleware)
    url = reverse("catalog:entity-detail", args=["default", "component", "hub"])
    # session, user, entity, relations (+ the observability link patterns on the overview)
    for tab, queries in (("overview", 5), ("relations", 4)):
        with django_assert_num_queries(queries):
            assert client.get(url, {"tab": tab}).status_code == 200


def test_entity_tabs(owner_client: Any, catalog: Path) -> None:
    url = reverse("catalog:entity-detail", args=["default", "component", "orders"])
    overview = owner_client.get(url).content.decode()
    assert "Orders Team" in overview or "team-orders" in overview
    assert "system:default/shop" in overview
    assert "missing" in overview
    graph = owner_client.get(url, {"tab": "relations"}).content.decode()
    assert "<svg" in graph
    assert 'class="node missing"' in graph  # component:ghost does not exist
    assert reverse("catalog:entity-detail", args=["default", "api", "orders-api"]) in graph
    docs = owner_client.get(url, {"tab": "docs"}).content.decode()
    assert 'id="running-it"' in docs
    assert 'href="#running-it"' in docs  # table of contents
    assert "<script>alert" not in docs
    api_url = reverse("catalog:entity-detail", args=["default", "api", "orders-api"])
    api = owner_client.get(api_url, {"tab": "api"}).content.decode()
    assert "Fetch one order" in api
    assert "/orders/{id}" in api
    assert "id (path, required)" in api
    errors_url = reverse("catalog:entity-detail", args=["default", "component", "broken"])
    errors = owner_client.get(errors_url, {"tab": "errors"}).content.decode()
    assert "spec.lifecycle: is required" in errors


def test_group_and_user_pages(owner_client: Any, catalog: Path) -> None:
    group = owner_client.get(
        reverse("catalog:entity-detail", args=["default", "group", "team-orders"])
    )
    body = group.content.decode()
    assert "Members" in body
    assert "olivia" in body
    assert "orders-api" in body  # owned
    user = owner_client.get(reverse("catalog:entity-detail", args=["default", "user", "olivia"]))
    assert "team-orders" in user.content.decode()


def test_unknown_entity_is_404(owner_client: Any) -> None:
    assert owner_client.get("/catalog/default/component/nope/").status_code == 404


def test_extra_tab_registry(
    owner_client: Any, catalog: Path, tmp_path: Path, settings: Any
) -> None:
    from catalog.tabs import _TABS, EntityTab, register_entity_tab

    template_dir = tmp_path / "tpl"
    (template_dir / "x").mkdir(parents=True)
    (template_dir / "x" / "costs.html").write_text("<p>Costs: {{ monthly_cost }}</p>")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], template_dir]}
    ]
    register_entity_tab(
        EntityTab(
            "test-costs",
            "Test costs",
            "x/costs.html",
            lambda e, u: {"monthly_cost": "42 EUR"},
            kinds=("Component",),
        )
    )
    try:
        url = reverse("catalog:entity-detail", args=["default", "component", "orders"])
        assert ">Test costs</a>" in owner_client.get(url).content.decode()
        assert "Costs: 42 EUR" in owner_client.get(url, {"tab": "test-costs"}).content.decode()
    finally:
        _TABS.pop("test-costs")  # leave the real apps' tabs alone


def test_home_section_and_global_search(owner_client: Any, catalog: Path) -> None:
    home = owner_client.get("/").content.decode()
    assert "My services" in home
    assert "orders" in home
    search = owner_client.get("/search/", {"q": "orders"}).content.decode()
    assert "The orders service" in search or "orders-api" in search


@pytest.fixture
def served(tmp_path: Path, settings: Any) -> Iterator[str]:
    (tmp_path / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: checkout}\n"
        "spec: {type: service, lifecycle: production, owner: team-orders}\n"
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = tmp_path / self.path.lstrip("/")
            if not path.is_file():
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.end_headers()
            self.wfile.write(path.read_bytes())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # Stands in for a git host outside: the platform team allows this one port.
    settings.PAVED_OUTBOUND_ALLOWED_HOSTS = [f"127.0.0.1:{server.server_port}"]
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_register_previews_then_imports(owner_client: Any, served: str) -> None:
    url = reverse("catalog:register")
    preview = owner_client.post(url, {"location": f"{served}/catalog-info.yaml"})
    assert preview.status_code == 200
    assert "component:default/checkout" in preview.content.decode()
    assert not Entity.objects.filter(name="checkout").exists()  # nothing written yet
    done = owner_client.post(url, {"location": f"{served}/catalog-info.yaml", "action": "confirm"})
    assert done.status_code == 302
    assert done["Location"].endswith("/catalog/default/component/checkout/")
    assert Location.objects.filter(type="url").count() == 1


def test_register_rejects_bad_input_with_422(owner_client: Any, served: str) -> None:
    url = reverse("catalog:register")
    bad = owner_client.post(url, {"location": "not a thing"})
    assert bad.status_code == 422
    assert "is not an http(s) URL" in bad.content.decode()
    missing = owner_client.post(url, {"location": f"{served}/nope.yaml"})
    assert missing.status_code == 422
    assert "HTTP 404" in missing.content.decode()
    server_file = owner_client.post(url, {"location": "file:/etc/hostname"})
    assert server_file.status_code == 422
    assert "Only platform admins" in server_file.content.decode()


def test_owners_see_problems_on_home_and_in_list(owner_client: Any, catalog: Path) -> None:
    home = owner_client.get("/").content.decode()
    assert "need attention" in home
    assert "broken" in home
    problems = owner_client.get(LIST, {"problems": "1"}).content.decode()
    assert "broken" in problems
    assert "payments-ui" not in problems


def test_docs_tab_reads_markdown_from_the_repository(owner_client: Any, local_git: Any) -> None:
    from catalog.ingestion import REPO, Target
    from catalog.services import refresh_location, register_location
    from tests.catalog.helpers import push_repo

    push_repo(local_git, "acme", "docs-demo", {
        "catalog-info.yaml": (
            b"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: docs-demo\n"
            b"  annotations: {backstage.io/techdocs-ref: 'dir:.'}\n"
            b"spec: {type: service, lifecycle: production, owner: team-orders}\n"),
        "docs/index.md": b"# Docs demo\n\n## Deploying\n\n<img src=x onerror=alert(1)>Ship it.\n",
        "docs/runbook.md": b"# Runbook\n\nPage the on-call.\n",
    })  # fmt: skip
    refresh_location(location=register_location(target=Target(REPO, "acme/docs-demo"), actor=None))
    url = reverse("catalog:entity-detail", args=["default", "component", "docs-demo"])
    index = owner_client.get(url, {"tab": "docs"}).content.decode()
    assert 'href="#deploying"' in index
    assert "onerror" not in index
    runbook = owner_client.get(url, {"tab": "docs", "page": "runbook.md"}).content.decode()
    assert "Page the on-call." in runbook
    escape = owner_client.get(url, {"tab": "docs", "page": "../catalog-info.yaml"}).content.decode()
    assert "is not a docs page name" in escape


def test_register_confirm_over_htmx_redirects_client(owner_client: Any, served: str) -> None:
    response = owner_client.post(
        reverse("catalog:register"),
        {"location": f"{served}/catalog-info.yaml", "action": "confirm"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response["HX-Redirect"].endswith("/catalog/default/component/checkout/")


def test_docs_tab_without_an_index_page_says_so_plainly(owner_client: Any, tmp_path: Path) -> None:
    ingest_docs(
        tmp_path,
        [component("undocumented",
                   metadata={"annotations": {"backstage.io/techdocs-ref": "dir:."}})],
    )  # fmt: skip
    url = reverse("catalog:entity-detail", args=["default", "component", "undocumented"])
    body = owner_client.get(url, {"tab": "docs"}).content.decode()
    assert "this component has no index.md in its docs folder yet" in body
    assert str(tmp_path) not in body  # no server path
    assert "does not exist" not in body


def test_team_names_are_read_once_per_request_and_never_stale(
    client: Any, owner: Any, django_assert_num_queries: Any
) -> None:
    from django.template import Context, Template

    from catalog.names import _forget, ref_name

    Entity.objects.filter(ref="group:default/team-orders").update(title="Orders")
    _forget()
    rows = Template("{% load catalog_names %}{% for r in refs %}{{ r|ref_name }};{% endfor %}")
    with django_assert_num_queries(1):
        out = rows.render(Context({"refs": ["group:default/team-orders"] * 50}))
    assert out == "Orders;" * 50
    Entity.objects.filter(ref="group:default/team-orders").update(title="Orders Team")
    client.force_login(owner)
    client.get("/")  # a request: what was read for the last one is forgotten
    assert ref_name("group:default/team-orders") == "Orders Team"
    assert ref_name("component:default/orders") == "orders"
