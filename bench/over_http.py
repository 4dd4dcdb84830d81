"""The speed goals measured as a client sees them: over HTTP, gunicorn, PostgreSQL, a Celery worker.

    DATABASE_URL=postgres://... REDIS_URL=redis://127.0.0.1:6379/<n> \
        .venv/bin/python bench/over_http.py [--entities 10000] [--requests 200] [--runs 20]

In a throwaway database (`<your database>_bench_http`, created and dropped here) and a temporary
data directory, with production settings (no DEBUG): starts gunicorn (two workers, the
container's flags) and a Celery worker (the container's flags), ingests the generated catalog
with `manage.py catalog import` (timed until the API shows every entity), then times N
sequential requests over one keep-alive connection: the JSON API with a catalog API token, the
HTML pages with a session cookie. Then runs a 20-file template N times through the worker, posted
the way the wizard's Create button posts it. Prints p50/p95, the ratio to each goal (a ratio <= 1
meets it), RSS of the web and worker processes at rest, and the load average."""

# ruff: noqa: E402
from __future__ import annotations

import sys

# Run as a script, this file's folder comes first on the path; the project root is what the
# bench needs there.
sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parent.parent)

import argparse
import http.client
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = tempfile.mkdtemp(prefix="paved-bench-http-")
ENV = {
    "PAVED_DATA_DIR": DATA_DIR,
    "PAVED_DEBUG": "false",
    "PAVED_SECRET_KEY": secrets.token_urlsafe(48),
    "PAVED_LOCAL_LOGIN": "true",
    "PAVED_GIT_PROVIDER": "local",
    "DJANGO_SETTINGS_MODULE": "portal.settings",
}
os.environ.update(ENV)

# The goals of the performance issue: (label, p50 goal or None, p95 goal) in ms; Backstage's
# numbers on this machine kind where the goal is relative to them.
GOALS: dict[str, tuple[float | None, float]] = {
    "api list": (25.5 / 2, 33.3 / 2),
    "api by-name": (1.05, 2.68),
    "api by-query": (25.5 / 2, 33.3 / 2),
    "api by-query late page": (25.5 / 2, 33.3 / 2),
    "api list fields": (25.5 / 2, 33.3 / 2),
    "html list": (None, 20.0),
    "html entity": (None, 20.0),
    "template run (client)": (100.0, 100.0),
    "template run (server)": (100.0, 100.0),
}

SKELETON_MODULE = '"""${{ values.name }}: module %d."""\n\nNAME = "${{ values.name }}"\n\n\ndef f%d() -> str:\n    return NAME\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    old_name = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = f"{old_name}_bench_http"
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        run(args, db_name, procs)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def _child_env(db_name: str) -> dict[str, str]:
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db_name}"
    return {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": settings.CELERY_BROKER_URL}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_services(
    args: argparse.Namespace, db_name: str, procs: list[subprocess.Popen[bytes]]
) -> int:
    """gunicorn and the worker, with the flags of bin/paved-container; returns the web port."""
    env = _child_env(db_name)
    port = _free_port()
    web_log = open(Path(DATA_DIR) / "web.log", "wb")  # noqa: SIM115
    worker_log = open(Path(DATA_DIR) / "worker.log", "wb")  # noqa: SIM115
    procs.append(subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.web_workers), "--threads", env.get("PAVED_WEB_THREADS", "4"),
         "--timeout", "60", "--keep-alive", "5", "--error-logfile", "-"],
        cwd=ROOT, env=env, stdout=web_log, stderr=subprocess.STDOUT,
    ))  # fmt: skip
    procs.append(subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--queues", "default,provisioning",
         "--pool", "threads", "--concurrency", "4", "--without-gossip", "--without-mingle",
         "--loglevel", "WARNING", "-n", f"bench-http-{port}@%h"],
        cwd=ROOT, env=env, stdout=worker_log, stderr=subprocess.STDOUT,
    ))  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"gunicorn or the worker stopped; see {DATA_DIR}/*.log")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not answer /healthz; see {DATA_DIR}/web.log")
        time.sleep(0.2)
    from portal.celery import app

    while not any(
        next(iter(r)).startswith(f"bench-http-{port}@")
        for r in (app.control.ping(timeout=0.5) or [])
    ):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start; see {DATA_DIR}/worker.log")
    return port


class Client:
    """One keep-alive connection; every request's wall clock is kept."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = headers

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, float, http.client.HTTPResponse]:
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError):
            # The server closed an idle keep-alive connection between phases: open a new one.
            self.conn.close()
            started = time.perf_counter()
            self.conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
            response = self.conn.getresponse()
        data = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        return response.status, data, elapsed, response

    def get(self, path: str) -> tuple[int, bytes, float]:
        status, data, elapsed, _ = self.request("GET", path)
        return status, data, elapsed


def setup_people() -> tuple[str, str, Any]:
    """A user in team-000 with a read token and a signed-in session (in the bench database)."""
    from django.contrib.auth.models import User
    from django.test import Client as DjangoClient

    from catalog.models import ApiToken
    from catalog.tokens import create_token

    user = User.objects.create_user("bench", "bench@example.com")
    _row, raw = create_token(name="bench", scope=ApiToken.Scope.CATALOG, user=user)
    client = DjangoClient()
    client.force_login(user)
    from django.conf import settings

    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return raw, session, user


def ingest(port: int, token: str, args: argparse.Namespace, db_name: str) -> float:
    """`catalog import` of the generated file, timed until the API counts every entity."""
    from bench.catalog_data import dump, generate

    path = Path(DATA_DIR) / "catalog.yaml"
    path.write_text(dump(generate(args.entities, 200)), encoding="utf-8")
    api = Client(port, {"Authorization": f"Bearer {token}"})
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "catalog", "import", str(path)],
        cwd=ROOT, env=_child_env(db_name), check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    while True:
        _, body, _ = api.get("/api/catalog/entities/by-query?limit=1")
        if json.loads(body)["totalItems"] >= args.entities:
            return time.perf_counter() - started
        time.sleep(0.05)


def time_requests(client: Client, paths: list[str], n: int) -> list[float]:
    """`n` sequential requests cycling over `paths`, after a warm-up round of each."""
    for path in paths[:5]:
        status, body, _ = client.get(path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
    times = []
    for i in range(n):
        status, body, elapsed = client.get(paths[i % len(paths)])
        if status != 200:
            raise RuntimeError(f"GET {paths[i % len(paths)]} answered {status}")
        times.append(elapsed)
    return times


def late_cursor(api: Client) -> str:
    """The cursor of a page far into the components (page 200 of 20)."""
    _, body, _ = api.get("/api/catalog/entities/by-query?filter=kind=component&limit=20")
    cursor = json.loads(body)["pageInfo"]["nextCursor"]
    # Walk with real cursors: what a client paging through would send.
    for _ in range(199):
        _, body, _ = api.get(
            "/api/catalog/entities/by-query?limit=20&cursor=" + urllib.parse.quote(cursor)
        )
        cursor = json.loads(body)["pageInfo"]["nextCursor"]
    return cursor


def bench_reads(port: int, token: str, session: str, n: int) -> dict[str, list[float]]:
    from catalog.models import Entity

    names = list(
        Entity.objects.filter(kind="Component").order_by("?").values_list("name", flat=True)[:50]
    )
    api = Client(port, {"Authorization": f"Bearer {token}", "Accept": "application/json"})
    html = Client(port, {"Cookie": f"sessionid={session}"})
    cursor = urllib.parse.quote(late_cursor(api))
    results = {
        "api list": time_requests(api, ["/api/catalog/entities?filter=kind=component&limit=20"], n),
        "api list fields": time_requests(
            api,
            ["/api/catalog/entities?filter=kind=component&limit=20"
             "&fields=kind,metadata.name,metadata.namespace"], n),
        "api by-name": time_requests(
            api, [f"/api/catalog/entities/by-name/component/default/{x}" for x in names], n
        ),
        "api by-query": time_requests(
            api, ["/api/catalog/entities/by-query?filter=kind=component&limit=20"], n
        ),
        "api by-query late page": time_requests(
            api, [f"/api/catalog/entities/by-query?limit=20&cursor={cursor}"], n
        ),
        "html list": time_requests(html, ["/catalog/?kind=component"], n),
        "html entity": time_requests(
            html, [f"/catalog/default/component/{x}/" for x in names], n
        ),
    }  # fmt: skip
    _, full, _ = api.get("/api/catalog/entities?filter=kind=component&limit=20")
    _, small, _ = api.get(
        "/api/catalog/entities?filter=kind=component&limit=20"
        "&fields=kind,metadata.name,metadata.namespace"
    )
    print(f"api list response: {len(full):,} bytes; with fields: {len(small):,} bytes")
    return results


def write_template() -> Path:
    """One parameter page, fetch:template of a 20-file skeleton, debug:log listWorkspace."""
    root = Path(DATA_DIR) / "template"
    package = root / "skeleton" / "${{ values.name }}"
    package.mkdir(parents=True)
    (root / "skeleton" / "README.md").write_text(
        "# ${{ values.name }}\n\n${{ values.description }}\n", encoding="utf-8"
    )
    (root / "skeleton" / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n"
        "  name: ${{ values.name }}\n  description: ${{ values.description }}\n"
        "spec:\n  type: service\n  lifecycle: experimental\n  owner: ${{ values.owner }}\n",
        encoding="utf-8",
    )
    for i in range(18):
        (package / f"${{{{ values.name }}}}_{i:02d}.py").write_text(
            SKELETON_MODULE % (i, i), encoding="utf-8"
        )
    (root / "template.yaml").write_text(
        """apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: bench-twenty
  title: Twenty files
spec:
  owner: group:default/team-000
  type: service
  parameters:
    - title: About
      required: [name, owner]
      properties:
        name: {title: Name, type: string, pattern: '^[a-z][a-z0-9-]{1,48}[a-z0-9]$'}
        description: {title: Description, type: string}
        owner: {title: Owner, type: string, ui:field: OwnerPicker}
  steps:
    - id: fetch
      name: Render
      action: fetch:template
      input:
        url: ./skeleton
        values:
          name: ${{ parameters.name }}
          description: ${{ parameters.description }}
          owner: ${{ parameters.owner }}
    - id: log
      name: List
      action: debug:log
      input:
        listWorkspace: true
""",
        encoding="utf-8",
    )
    return root / "template.yaml"


def bench_runs(port: int, session: str, user: Any, runs: int) -> dict[str, list[float]]:
    """Create pressed `runs` times: client POST -> finished, and created -> finished."""
    from catalog.models import Entity, Relation
    from runs.models import Run
    from scaffolder.services import save_template_file

    team = Entity.objects.get(ref="group:default/team-000")
    person = Entity.objects.create(ref="user:default/bench", kind="User", name="bench", user=user)
    Relation.objects.create(source=person, type="memberOf", target_ref=team.ref, target=team)
    save_template_file(write_template())
    html = Client(port, {"Cookie": f"sessionid={session}"})
    page = "/create/default/bench-twenty/"
    status, body, _, response = html.request("GET", page)
    csrf_cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "")
    csrf_field = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if status != 200 or not csrf_cookie or not csrf_field:
        raise RuntimeError(f"the wizard page answered {status} without a CSRF token")
    headers = {
        "Cookie": f"sessionid={session}; csrftoken={csrf_cookie.group(1)}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    client_ms, server_ms = [], []
    gaps: dict[str, tuple[list[float], list[float]]] = {}
    for i in range(runs + 1):  # the first is a warm-up, reported on its own
        values = {"name": f"bench-{i}", "description": "A bench run", "owner": team.ref}
        form = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": csrf_field.group(1).decode(), "action": "create",
             "state": json.dumps(values)}
        )  # fmt: skip
        started = time.perf_counter()
        status, body, _, response = html.request("POST", page, body=form, headers=headers)
        location = response.getheader("Location") or ""
        match = re.search(r"/runs/(\d+)/", location)
        if status != 302 or not match:
            raise RuntimeError(f"Create answered {status}: {body[:500]!r}")
        run_id = int(match.group(1))
        while not Run.objects.filter(pk=run_id, finished_at__isnull=False).exists():
            time.sleep(0.002)
        elapsed = (time.perf_counter() - started) * 1000
        run = Run.objects.get(pk=run_id)
        if run.status != "succeeded" or run.finished_at is None:
            raise RuntimeError(f"run {run_id} {run.status}: {run.error}")
        server = (run.finished_at - run.created_at).total_seconds() * 1000
        if i == 0:
            print(f"first template run: client {elapsed:.1f} ms, server {server:.1f} ms")
            continue
        client_ms.append(elapsed)
        server_ms.append(server)
        _split(run, gaps)
    for key, (waits, durations) in gaps.items():
        print(
            f"  step {key:<8} waited (queue + claim) p50 {statistics.median(waits):6.1f} ms, "
            f"ran p50 {statistics.median(durations):6.1f} ms"
        )
    return {"template run (client)": client_ms, "template run (server)": server_ms}


def _split(run: Any, gaps: dict[str, tuple[list[float], list[float]]]) -> None:
    """Where a run's time went: waiting for the worker to take each step, and the step itself."""
    previous = run.created_at
    for step in run.steps.order_by("position"):
        if step.started_at is None or step.finished_at is None:
            continue
        waits, durations = gaps.setdefault(step.key, ([], []))
        waits.append((step.started_at - previous).total_seconds() * 1000)
        durations.append((step.finished_at - step.started_at).total_seconds() * 1000)
        previous = step.finished_at


def _tree(pid: int) -> list[int]:
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            pids.extend(_tree(int(child)))
    return pids


def memory_mib(pid: int) -> tuple[float, float]:
    """RSS and PSS (shared pages split between the processes that share them) of a process tree."""
    rss = pss = 0
    for p in _tree(pid):
        for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1])
            elif line.startswith("Pss:"):
                pss += int(line.split()[1])
    return rss / 1024, pss / 1024


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(results: dict[str, list[float]]) -> None:
    print(f"{'path':<26}{'n':>5}{'p50 ms':>10}{'p95 ms':>10}{'goal p50/p95':>16}{'ratio':>14}")
    for label, times in results.items():
        p50, p95 = statistics.median(times), _pct(times, 0.95)
        goal50, goal95 = GOALS[label]
        goal = f"{goal50:.2f}/{goal95:.2f}" if goal50 is not None else f"-/{goal95:.2f}"
        ratio = (f"{p50 / goal50:.2f}/" if goal50 is not None else "-/") + f"{p95 / goal95:.2f}"
        print(f"{label:<26}{len(times):>5}{p50:>10.2f}{p95:>10.2f}{goal:>16}{ratio:>14}")


def run(args: argparse.Namespace, db_name: str, procs: list[subprocess.Popen[bytes]]) -> None:
    print(f"load average at start: {os.getloadavg()}")
    port = start_services(args, db_name, procs)
    token, session, user = setup_people()
    seconds = ingest(port, token, args, db_name)
    print(
        f"ingest {args.entities:,} entities until all visible through the API: {seconds:.2f} s "
        f"({args.entities / seconds:,.0f} entities/s; goal <= 2 s, ratio {seconds / 2:.2f})"
    )
    results = bench_reads(port, token, session, args.requests)
    results.update(bench_runs(port, session, user, args.runs))
    report(results)
    time.sleep(2)  # at rest: nothing in flight
    web, worker = memory_mib(procs[0].pid), memory_mib(procs[1].pid)
    print(
        f"memory at rest: web (gunicorn, {args.web_workers} workers) RSS {web[0]:.0f} MiB "
        f"PSS {web[1]:.0f} MiB; worker RSS {worker[0]:.0f} MiB PSS {worker[1]:.0f} MiB; "
        f"together RSS {web[0] + worker[0]:.0f} MiB (goal <= 250, ratio "
        f"{(web[0] + worker[0]) / 250:.2f}), PSS {web[1] + worker[1]:.0f} MiB"
    )
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
