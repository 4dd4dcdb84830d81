"""Backstage's own `@backstage/catalog-client` (pinned in backstage_client/package.json, from
the npm registry, run with the machine's Node) against a live Paved: every CatalogClient method
that has an endpoint in Paved, with its results checked here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User

from catalog.models import ApiToken, Entity, Location
from catalog.tokens import hash_token
from tests.catalog.helpers import component, ingest_docs

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT_DIR = Path(__file__).with_name("backstage_client")


def _install_client() -> None:
    """`npm install` the pinned client into backstage_client/node_modules (gitignored) once."""
    if (CLIENT_DIR / "node_modules" / "@backstage" / "catalog-client").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.fail("Node.js and npm are needed to run Backstage's catalog client")
    subprocess.run(
        [npm, "install", "--no-package-lock", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=CLIENT_DIR,
        check=True,
        timeout=300,
    )


def _token(user: User, *, can_write: bool) -> str:
    raw = f"pvd_client-{user.username}-{'w' if can_write else 'r'}"
    ApiToken.objects.create(
        name="client", user=user, token_hash=hash_token(raw), prefix=raw[:12], can_write=can_write
    )
    return raw


def _write(path: Path, docs: list[dict[str, Any]]) -> None:
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def names(entities: list[dict[str, Any]]) -> list[str]:
    return [e["metadata"]["name"] for e in entities]


def test_backstage_catalog_client_works_against_paved(
    live_server: Any, tmp_path: Path, owner: User, platform_admin: User
) -> None:
    _install_client()
    _write(tmp_path / "nested.yaml", [component("nested-thing")])
    ingest_docs(
        tmp_path,
        [
            component("orders", providesApis=["orders-api"]),
            component("billing", owner="team-payments"),
            component("shop-web", type="website"),
            {"apiVersion": "backstage.io/v1alpha1", "kind": "API",
             "metadata": {"name": "orders-api"},
             "spec": {"type": "openapi", "lifecycle": "production", "owner": "team-orders",
                      "definition": "openapi: 3.0.0"}},
            {"apiVersion": "backstage.io/v1alpha1", "kind": "Location",
             "metadata": {"name": "more"}, "spec": {"targets": ["./nested.yaml"]}},
        ],
    )  # fmt: skip
    refresh_dir = tmp_path / "refresh"
    refresh_dir.mkdir()
    ingest_docs(refresh_dir, [component("refresh-me", metadata={"description": "before"})])
    # Changed on disk only: the catalog still holds "before" until the refresh.
    _write(refresh_dir / "catalog.yaml", [component("refresh-me", metadata={"description": "after"})])  # fmt: skip
    new_file = tmp_path / "new" / "catalog-info.yaml"
    new_file.parent.mkdir()
    _write(new_file, [component("brand-new")])

    scenario = {
        "baseUrl": live_server.url,
        "readToken": _token(owner, can_write=False),
        "adminToken": _token(platform_admin, can_write=True),
        "componentRef": "component:default/orders",
        "apiRef": "api:default/orders-api",
        "nestedRef": "component:default/nested-thing",
        "refreshRef": "component:default/refresh-me",
        "newEntityRef": "component:default/brand-new",
        "newLocationTarget": str(new_file),
        "validEntity": component("valid-one"),
        "invalidEntity": {**component("Not A Name!"), "spec": {"type": "service"}},
    }
    scenario_file = tmp_path / "scenario.json"
    scenario_file.write_text(json.dumps(scenario))
    run = subprocess.run(
        ["node", str(CLIENT_DIR / "run_client.cjs"), str(scenario_file)],
        cwd=CLIENT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)

    components = ["orders", "billing", "shop-web", "nested-thing", "refresh-me"]
    # getEntities: filter, fields, order.
    assert sorted(names(out["getEntities"]["items"])) == sorted(components)
    assert out["getEntitiesFields"]["items"][0] == {"kind": "Component",
                                                    "metadata": {"name": "orders"}}  # fmt: skip
    assert all(set(e) == {"kind", "metadata"} for e in out["getEntitiesFields"]["items"])
    assert names(out["getEntitiesOrder"]["items"]) == sorted(components, reverse=True)
    # getEntityByRef found / missing, facets, locations.
    found = out["getEntityByRef"]
    assert found["metadata"]["name"] == "orders"
    assert {"type": "providesApi", "targetRef": "api:default/orders-api"} in found["relations"]
    assert out["getEntityByRefMissing"] is None
    assert {"value": "Component", "count": 5} in out["getEntityFacets"]["facets"]["kind"]
    assert {"value": "website", "count": 1} in out["getEntityFacets"]["facets"]["spec.type"]
    assert {loc["type"] for loc in out["getLocations"]["items"]} == {"file"}

    # queryEntities: three pages of two, in name order, totalItems on each; and back again.
    pages = out["queryPages"]
    assert [names(p["items"]) for p in pages] == [
        ["billing", "nested-thing"], ["orders", "refresh-me"], ["shop-web"]]  # fmt: skip
    assert all(p["totalItems"] == 5 for p in pages)
    assert pages[0]["items"][0] == {"metadata": {"name": "billing"}}
    assert "prevCursor" not in pages[0]["pageInfo"]
    assert "nextCursor" not in pages[-1]["pageInfo"]
    assert names(out["queryPrevious"]["items"]) == ["orders", "refresh-me"]
    assert names(out["queryFullText"]["items"]) == ["billing"]
    assert out["queryFullText"]["totalItems"] == 1
    assert [name for page in out["streamEntities"] for name in page] == [  # streamed in uid order, pages of two
        e.name for e in Entity.objects.filter(kind="Component").order_by("id")]  # fmt: skip
    assert [len(p) for p in out["streamEntities"]] == [2, 2, 1]

    # getEntitiesByRefs: in order, null (undefined) for the missing one, fields applied.
    assert out["getEntitiesByRefs"]["items"] == [
        {"kind": "Component", "metadata": {"name": "orders"}},
        None,
        {"kind": "API", "metadata": {"name": "orders-api"}},
    ]
    # getEntityAncestors: nested-thing was read through the Location entity "more".
    ancestry = out["getEntityAncestors"]
    assert ancestry["rootEntityRef"] == "component:default/nested-thing"
    assert [(i["entity"]["metadata"]["name"], i["parentEntityRefs"]) for i in ancestry["items"]] == [
        ("nested-thing", ["location:default/more"]), ("more", [])]  # fmt: skip

    # validateEntity: the catalog's own verdicts.
    assert out["validateValid"] == {"valid": True}
    invalid = out["validateInvalid"]
    assert invalid["valid"] is False
    messages = " ".join(e["message"] for e in invalid["errors"])
    assert "metadata.name" in messages
    assert "spec.owner" in messages

    # Locations: a read token is refused, the admin's token analyzes, dry-runs and registers.
    assert out["addLocationReadToken"]["ok"] is False
    assert out["addLocationReadToken"]["status"] == 403
    analyzed = out["analyzeLocation"]["existingEntityFiles"]
    assert [(f["entity"]["metadata"]["name"], f["isRegistered"]) for f in analyzed] == [
        ("brand-new", False)]  # fmt: skip
    assert analyzed[0]["location"] == {"type": "file", "target": str(new_file)}
    dry = out["addLocationDryRun"]
    assert dry["exists"] is False
    assert names(dry["entities"]) == ["brand-new"]
    added = out["addLocation"]
    assert added["location"]["type"] == "file"
    assert added["location"]["target"] == str(new_file)
    assert names(added["entities"]) == ["brand-new"]
    assert out["addLocationAgain"]["status"] == 409
    assert out["getLocationById"] == added["location"]
    assert out["getLocationByRef"] == added["location"]
    assert out["getLocationByEntity"] == added["location"]
    assert out["newEntityBeforeRemoval"]["metadata"]["name"] == "brand-new"
    assert out["removeLocationById"]["ok"] is True
    assert out["getLocationByIdAfterRemoval"] is None
    assert out["newEntityAfterRemoval"] is None
    assert not Location.objects.filter(target=str(new_file)).exists()

    # refreshEntity re-reads the location now; a read token may not.
    assert out["refreshBefore"]["metadata"]["description"] == "before"
    assert out["refreshEntity"]["ok"] is True
    assert out["refreshAfter"]["metadata"]["description"] == "after"
    assert out["refreshReadToken"]["status"] == 403
