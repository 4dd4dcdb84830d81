"""Catalog benchmark: ingest a generated 10,000-entity catalog, then time the pages.

    DATABASE_URL=postgres://... .venv/bin/python bench/catalog.py [--entities 10000]

Runs in a throwaway test database (created and dropped here), never in your data. Prints
validation time of the generated documents (best of 5; `--validation-only` stops there and needs
no database), ingestion time and entities/s, p50/p95 server time of the list page (unfiltered, filtered,
search) and of an entity page through Django's test Client, and queries per page."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--validation-only", action="store_true")
    args = parser.parse_args()
    if args.validation_only:
        bench_validation(args)
        return

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def bench_validation(args: argparse.Namespace) -> None:
    """Validation alone, as ingestion runs it (one `validate_entity` call per document)."""
    import copy

    from bench.catalog_data import generate
    from catalog.validation import validate_entity

    docs = generate(args.entities, args.groups)
    best = best_cpu = float("inf")
    for _ in range(5):
        batch = copy.deepcopy(docs)  # validation may fill in defaults; start fresh each time
        started, started_cpu = time.perf_counter(), time.process_time()
        invalid = sum(not validate_entity(doc).valid for doc in batch)
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - started_cpu)
    # CPU time too: on a shared machine the wall clock mostly measures the other jobs.
    print(
        f"validation:            {best:6.3f} s  {len(docs) / best:8,.0f} documents/s  "
        f"({len(docs):,} documents, {invalid} invalid; best of 5; CPU {best_cpu:.3f} s)"
    )


def run(args: argparse.Namespace) -> None:
    bench_validation(args)

    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.catalog_data import dump, generate
    from catalog.ingestion import FILE, Target
    from catalog.models import Entity, Relation
    from catalog.services import refresh_location, register_location

    docs = generate(args.entities, args.groups)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.yaml"
        path.write_text(dump(docs))
        size = path.stat().st_size
        location = register_location(target=Target(FILE, str(path)), actor=None)
        started = time.perf_counter()
        result = refresh_location(location=location)
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = refresh_location(location=location)
        second = time.perf_counter() - started
    entities, relations = Entity.objects.count(), Relation.objects.count()
    print(f"database: {connection.vendor}; file: {len(docs):,} documents, {size / 1e6:.1f} MB")
    print(
        f"ingestion (new):       {first:6.2f} s  {result.added / first:8,.0f} entities/s  "
        f"({result.added:,} added, {relations:,} relation rows)"
    )
    print(
        f"re-ingestion (same):   {second:6.2f} s  {again.unchanged / second:8,.0f} entities/s  "
        f"({again.unchanged:,} unchanged)"
    )

    user = User.objects.create_user("bench", "bench@example.com", "x")
    client = Client()
    client.force_login(user)
    sample = Entity.objects.filter(kind="Component").order_by("id")[entities // 3]
    group = Entity.objects.filter(kind="Group").order_by("id")[5]
    pages: dict[str, tuple[str, dict[str, Any]]] = {
        "list (unfiltered)": ("/catalog/", {}),
        "list (filtered)": ("/catalog/", {"kind": "component", "type": "service",
                                          "lifecycle": "production"}),
        "list (search)": ("/catalog/", {"q": "payments serv"}),
        "list (search, htmx)": ("/catalog/", {"q": "ledger"}),
        "entity page": (f"/catalog/default/component/{sample.name}/", {}),
        "entity relations tab": (f"/catalog/default/component/{sample.name}/", {"tab": "relations"}),
        "group page": (f"/catalog/default/group/{group.name}/", {}),
        "api by-name": (f"/api/catalog/entities/by-name/component/default/{sample.name}", {}),
        "api by-query p1": ("/api/catalog/entities/by-query", {"filter": "kind=component",
                                                              "orderField": "metadata.name,asc"}),
        "api by-query p1 fields": ("/api/catalog/entities/by-query", {
            "filter": "kind=component", "orderField": "metadata.name,asc",
            "fields": "kind,metadata.namespace,metadata.name"}),
        "api by-query text": ("/api/catalog/entities/by-query", {
            "fullTextFilterTerm": "ledger", "fullTextFilterFields": "metadata.name,metadata.title"}),
        "api list 500": ("/api/catalog/entities", {"filter": "kind=component", "limit": 500}),
        "api list 500 fields": ("/api/catalog/entities", {"filter": "kind=component", "limit": 500,
                                                         "fields": "kind,metadata.name"}),
    }  # fmt: skip
    # Later by-query pages, through the cursors (20 per page): must cost what the first does.
    cursor_page: dict[str, Any] = {
        "filter": "kind=component",
        "orderField": "metadata.name,asc",
        "limit": 20,
    }
    for target in (50, 300):
        body = client.get("/api/catalog/entities/by-query", cursor_page).json()
        for _ in range(target - 1):
            body = client.get(
                "/api/catalog/entities/by-query",
                {"cursor": body["pageInfo"]["nextCursor"], "limit": 20},
            ).json()
        pages[f"api by-query p{target}"] = (
            "/api/catalog/entities/by-query",
            {"cursor": body["pageInfo"]["nextCursor"], "limit": 20},
        )
    refs = list(Entity.objects.order_by("-id").values_list("ref", flat=True)[:1000])
    print(f"\n{'page':24} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}  {'size':>11}")
    for label, (url, params) in pages.items():
        headers = {"HX-Request": "true"} if "htmx" in label else {}
        client.get(url, params, headers=headers)  # warm up
        times = []
        for _ in range(args.requests):
            started = time.perf_counter()
            response = client.get(url, params, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
        with CaptureQueriesContext(connection) as queries:
            client.get(url, params, headers=headers)
        p50 = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[18]
        print(f"{label:24} {p50:8.1f} {p95:8.1f} {len(queries):8d}  {len(response.content):>9,} B")
    import json

    for label, body in (
        ("api by-refs 1000", {"entityRefs": refs}),
        ("api by-refs 1000 fields", {"entityRefs": refs, "fields": ["metadata.name"]}),
    ):
        payload = json.dumps(body)
        times = []
        for _ in range(args.requests // 3):
            started = time.perf_counter()
            response = client.post(
                "/api/catalog/entities/by-refs", payload, content_type="application/json"
            )
            times.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as queries:
            client.post("/api/catalog/entities/by-refs", payload, content_type="application/json")
        p50, p95 = statistics.median(times), statistics.quantiles(times, n=20)[18]
        print(f"{label:24} {p50:8.1f} {p95:8.1f} {len(queries):8d}  {len(response.content):>9,} B")


if __name__ == "__main__":
    main()
