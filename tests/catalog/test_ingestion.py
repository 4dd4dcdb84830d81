"""Ingestion from files, URLs and git repositories: Location entities, placeholders, relations
in both directions, dangling references, per-entity errors, orphans."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from catalog.ingestion import FILE, REPO, URL, Target
from catalog.models import Entity, Location, Relation
from catalog.queries import group_refs_for_user
from catalog.services import (
    delete_orphans,
    refresh_location,
    register_location,
)
from tests.catalog.helpers import push_repo

pytestmark = pytest.mark.django_db

ROOT = """\
apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: root}
spec:
  targets: [./teams.yaml, ./services/catalog-info.yaml, ./missing.yaml]
"""
TEAMS = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: jane}
spec: {memberOf: [team-a]}
"""
SERVICES = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: orders, description: Takes orders}
spec:
  type: service
  lifecycle: production
  owner: team-a
  providesApis: [orders-api]
  dependsOn: [component:ghost, resource:orders-db]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: orders-api}
spec:
  type: openapi
  lifecycle: production
  owner: team-a
  definition: {$text: ./openapi.yaml}
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata: {name: orders-db}
spec:
  type: database
  owner: team-a
  settings: {$json: ./settings.json}
  extra: {$yaml: ./extra.yaml}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: Bad Name}
spec: {type: service}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: half}
spec: {type: service, owner: team-a}
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "services").mkdir()
    (tmp_path / "all.yaml").write_text(ROOT)
    (tmp_path / "teams.yaml").write_text(TEAMS)
    (tmp_path / "services" / "catalog-info.yaml").write_text(SERVICES)
    (tmp_path / "services" / "openapi.yaml").write_text("openapi: 3.0.0\npaths: {}\n")
    (tmp_path / "services" / "settings.json").write_text('{"size": "small"}')
    (tmp_path / "services" / "extra.yaml").write_text("enabled: no\n")
    return tmp_path


def ingest(path: Path) -> Any:
    location = register_location(target=Target(FILE, str(path)), actor=None)
    return refresh_location(location=location)


def test_file_location_follows_targets_and_resolves_placeholders(tree: Path) -> None:
    result = ingest(tree / "all.yaml")
    assert (result.added, result.updated, result.unchanged) == (6, 0, 0)
    assert result.invalid == 2  # "Bad Name" and "half" are stored with their errors
    assert any("missing.yaml" in e and "does not exist" in e for e in result.errors)
    bad = result.entity_errors["component:default/bad name"]
    assert any('metadata.name: "Bad Name" is not valid' in e for e in bad)
    api = Entity.objects.get(ref="api:default/orders-api")
    assert api.spec["definition"] == "openapi: 3.0.0\npaths: {}\n"
    db = Entity.objects.get(ref="resource:default/orders-db")
    assert db.spec["settings"] == {"size": "small"}
    assert db.spec["extra"] == {"enabled": "no"}  # YAML 1.2 here too
    assert api.annotations["backstage.io/managed-by-location"].endswith("catalog-info.yaml")


def test_invalid_entity_is_stored_with_its_errors(tree: Path) -> None:
    ingest(tree / "all.yaml")
    half = Entity.objects.get(ref="component:default/half")
    assert any("spec.lifecycle: is required" in e for e in half.processing_errors)
    assert "catalog-info.yaml" in half.processing_errors[0]


def test_relations_in_both_directions_and_missing_targets_kept(tree: Path) -> None:
    ingest(tree / "all.yaml")
    rows: set[tuple[Any, ...]] = set(
        Relation.objects.values_list("source__ref", "type", "target_ref", "target__ref")
    )
    assert ("component:default/orders", "ownedBy", "group:default/team-a",
            "group:default/team-a") in rows  # fmt: skip
    assert ("group:default/team-a", "ownerOf", "component:default/orders",
            "component:default/orders") in rows  # fmt: skip
    assert ("api:default/orders-api", "apiProvidedBy", "component:default/orders",
            "component:default/orders") in rows  # fmt: skip
    assert ("user:default/jane", "memberOf", "group:default/team-a",
            "group:default/team-a") in rows  # fmt: skip
    assert ("group:default/team-a", "hasMember", "user:default/jane",
            "user:default/jane") in rows  # fmt: skip
    # The dangling dependency is kept, with no target entity.
    assert ("component:default/orders", "dependsOn", "component:default/ghost", None) in rows


def test_target_appearing_later_gets_linked_both_ways(tmp_path: Path) -> None:
    first = tmp_path / "a.yaml"
    first.write_text(SERVICES.split("---")[0])
    ingest(first)
    rel = Relation.objects.get(type="ownedBy")
    assert rel.target is None
    second = tmp_path / "b.yaml"
    second.write_text(TEAMS)
    ingest(second)
    rel = Relation.objects.get(type="ownedBy")  # rebuilt rows: read again
    assert rel.target is not None
    assert rel.target.ref == "group:default/team-a"
    assert Relation.objects.filter(type="ownerOf", source__ref="group:default/team-a").exists()


def test_refresh_counts_unchanged_updated_and_orphans(tree: Path) -> None:
    ingest(tree / "all.yaml")
    again = ingest(tree / "all.yaml")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 6)
    (tree / "teams.yaml").write_text(TEAMS.split("---")[0].replace("team-a}", "team-a, title: A}"))
    third = ingest(tree / "all.yaml")
    assert (third.updated, third.orphaned) == (1, 1)
    jane = Entity.objects.get(ref="user:default/jane")
    assert jane.orphaned_at is not None
    assert delete_orphans(grace=timedelta(hours=1)) == 0
    assert delete_orphans(grace=timedelta(seconds=0)) >= 1
    assert not Entity.objects.filter(ref="user:default/jane").exists()


def test_broken_yaml_keeps_entities_and_reports_the_file(tree: Path) -> None:
    ingest(tree / "all.yaml")
    (tree / "teams.yaml").write_text("kind: Group\nkind: User\n")
    result = ingest(tree / "all.yaml")
    assert any("teams.yaml" in e and "duplicate key" in e for e in result.errors)
    assert result.orphaned == 0
    assert Entity.objects.filter(ref="group:default/team-a", orphaned_at__isnull=True).exists()
    location = Location.objects.get()
    assert any("duplicate key" in e for e in location.errors)


def test_oversized_file_is_refused(tree: Path, settings: Any) -> None:
    settings.PAVED_CATALOG_MAX_FILE_BYTES = 100
    result = ingest(tree / "all.yaml")
    assert any("larger than the 100-byte limit" in e for e in result.errors)
    assert result.added == 0


# --- URL locations, against a real HTTP server on 127.0.0.1 -------------------------------------


@pytest.fixture
def http_server(tree: Path, settings: Any) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = tree / self.path.lstrip("/")
            if self.path == "/slow":
                import time

                time.sleep(2)
            if not path.is_file():
                self.send_response(404)
                self.end_headers()
                return
            body = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # Stands in for a git host outside: the platform team allows this one port.
    settings.PAVED_OUTBOUND_ALLOWED_HOSTS = [f"127.0.0.1:{server.server_port}"]
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_url_location_with_relative_targets(http_server: str) -> None:
    location = register_location(target=Target(URL, f"{http_server}/all.yaml"), actor=None)
    result = refresh_location(location=location)
    assert result.added == 6
    assert any("missing.yaml" in e and "HTTP 404" in e for e in result.errors)
    api = Entity.objects.get(ref="api:default/orders-api")
    assert api.spec["definition"].startswith("openapi: 3.0.0")


def test_unreachable_and_slow_urls_give_clear_errors(http_server: str, settings: Any) -> None:
    settings.PAVED_CATALOG_URL_TIMEOUT = 0.5
    slow = refresh_location(
        location=register_location(target=Target(URL, f"{http_server}/slow"), actor=None)
    )
    assert any(f"could not fetch {http_server}/slow: it could not be reached" in e
               for e in slow.errors)  # fmt: skip
    settings.PAVED_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1:9"]
    gone = refresh_location(
        location=register_location(target=Target(URL, "http://127.0.0.1:9/x.yaml"), actor=None)
    )
    assert any("http://127.0.0.1:9/x.yaml: it could not be reached" in e for e in gone.errors)


# --- Repository locations, on the real local git host (bare repositories in tmp_path) ----------


def test_repository_location_reads_catalog_info_and_targets(local_git: Any) -> None:
    push_repo(local_git, "acme", "orders", {
        "catalog-info.yaml": ROOT.replace("./services/catalog-info.yaml", "./services.yaml").encode(),
        "teams.yaml": TEAMS.encode(),
        "services.yaml": SERVICES.encode(),
        "openapi.yaml": b"openapi: 3.0.0\n",
        "settings.json": b'{"size": "small"}',
        "extra.yaml": b"enabled: no\n",
    })  # fmt: skip
    result = refresh_location(location=register_location(target=Target(REPO, "acme/orders"),
                                                         actor=None))  # fmt: skip
    assert result.added == 6
    orders = Entity.objects.get(ref="component:default/orders")
    assert orders.source == "repo:acme/orders/services.yaml"
    api = Entity.objects.get(ref="api:default/orders-api")
    assert api.spec["definition"] == "openapi: 3.0.0\n"
    assert any("acme/orders has no missing.yaml" in e for e in result.errors)
    missing = refresh_location(location=register_location(target=Target(REPO, "acme/nope"),
                                                          actor=None))  # fmt: skip
    assert any("repository acme/nope does not exist" in e for e in missing.errors)


def test_repository_path_cannot_escape(local_git: Any) -> None:
    push_repo(local_git, "acme", "web", {"catalog-info.yaml": (
        b"apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: x}\n"
        b"spec: {targets: [../../etc/passwd]}\n")})  # fmt: skip
    result = refresh_location(location=register_location(target=Target(REPO, "acme/web"),
                                                         actor=None))  # fmt: skip
    assert any("outside the repository" in e for e in result.errors)


# --- CLI and demo ---------------------------------------------------------------------------------


def test_import_command_prints_counts(tree: Path) -> None:
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit):  # the missing target is reported, exit 1
        call_command("catalog", "import", str(tree / "all.yaml"), stdout=out, stderr=err)
    assert "added 6, updated 0, unchanged 0, invalid 2" in out.getvalue()
    assert "missing.yaml" in err.getvalue()


def test_demo_loader_ingests_org_and_creates_accounts() -> None:
    from django.contrib.auth.models import User

    from catalog.demo import load_demo_catalog

    summary = load_demo_catalog()
    assert "6 accounts" in summary
    assert set(User.objects.filter(is_staff=True).values_list("username", flat=True)) == {
        "alice", "bob"}  # fmt: skip
    carol = User.objects.get(username="carol")
    assert carol.check_password("paved-demo")
    assert group_refs_for_user(carol) == {"group:default/team-orders"}
    assert Entity.objects.filter(location__isnull=False).count() == 17
    load_demo_catalog()  # idempotent
    assert Entity.objects.count() == 17


def test_relation_emitted_by_both_ends_survives_one_side_dropping_it(tmp_path: Path) -> None:
    group = tmp_path / "group.yaml"
    group.write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team-a}\n"
        "spec: {type: team, children: [], members: [jane]}\n"
    )
    user = tmp_path / "user.yaml"
    user.write_text(TEAMS.split("---")[1])  # jane, memberOf team-a
    ingest(group)
    ingest(user)
    assert Relation.objects.filter(source__ref="user:default/jane", type="memberOf").count() == 2
    group.write_text(group.read_text().replace("members: [jane]", "members: []"))
    ingest(group)
    # jane's own memberOf still yields both directions.
    assert Relation.objects.filter(source__ref="user:default/jane", type="memberOf").exists()
    assert Relation.objects.filter(source__ref="group:default/team-a", type="hasMember").exists()
    from catalog.queries import relations_of

    jane = Entity.objects.get(ref="user:default/jane")
    assert [r.type for r in relations_of(jane)] == ["memberOf"]


def test_url_hosts_must_be_allowed(http_server: str, settings: Any) -> None:
    settings.PAVED_OUTBOUND_ALLOWED_HOSTS = ["git.example.com"]
    result = refresh_location(
        location=register_location(target=Target(URL, f"{http_server}/all.yaml"), actor=None)
    )
    port = http_server.rsplit(":", 1)[1]
    assert any(f"127.0.0.1:{port} is not an address Paved may fetch from" in e
               and "PAVED_OUTBOUND_ALLOWED_HOSTS" in e for e in result.errors)  # fmt: skip
    assert result.added == 0


def test_list_used_as_a_key_is_read_with_a_warning_shown_on_the_entity(
    tmp_path: Path, owner_client: Any
) -> None:
    # Backstage's YAML reader turns the key into its text and warns; the file is not refused.
    path = tmp_path / "catalog-info.yaml"
    path.write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: matrix}\n"
        "spec:\n  type: service\n  lifecycle: production\n  owner: team-orders\n"
        "  hosts:\n    - {{ gitlab_hostname }}\n"
    )
    result = ingest(path)
    assert result.errors == []
    assert result.added == 1
    entity = Entity.objects.get(ref="component:default/matrix")
    assert entity.processing_errors == []
    assert entity.spec["hosts"] == [{"{ gitlab_hostname }": None}]
    assert Relation.objects.filter(source=entity, type="ownedBy").exists()
    [warning] = entity.processing_warnings
    assert warning.startswith(f"document 0 of file:{path}: line 9, column 8: a mapping is used")
    page = owner_client.get("/catalog/default/component/matrix/", {"tab": "errors"})
    assert page.status_code == 200
    assert "{ gitlab_hostname }" in page.content.decode()
    # Read again unchanged: still one warning, nothing rewritten.
    again = ingest(path)
    assert again.unchanged == 1
    assert Entity.objects.get(pk=entity.pk).processing_warnings == [warning]


def test_a_large_import_refreshes_the_planner_statistics_and_a_small_one_does_not(
    tmp_path: Path,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog.services import ANALYZE_AFTER_ROWS
    from tests.catalog.helpers import component, ingest_docs

    def analyzes(docs: list[dict[str, Any]], name: str) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            ingest_docs(tmp_path, docs, name=name)
        return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("ANALYZE")]

    assert analyzes([component(f"few-{i}") for i in range(5)], "few.yaml") == []
    many = [component(f"many-{i:04d}") for i in range(ANALYZE_AFTER_ROWS)]
    assert analyzes(many, "many.yaml") == ["ANALYZE catalog_entity, catalog_relation"]
    # With the statistics fresh, the planner expects the components there are (not a guess).
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT id FROM catalog_entity WHERE UPPER(kind::text) = UPPER('component')"
        )
        row = cursor.fetchone()
    assert row is not None
    plan = str(row[0])
    expected = int(re.search(r"rows=(\d+)", plan).group(1))
    assert expected >= ANALYZE_AFTER_ROWS, plan
