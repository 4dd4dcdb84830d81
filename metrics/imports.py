"""Import a JSON-lines file of generic events, optionally in several processes.

Every component's events go to one process (a stable hash of the component name picks it),
so the per-component work of the ingest core — commits, first deployments, rollback and
incident attribution — never runs in two places at once; processes touch disjoint rows and
PostgreSQL does the rest in parallel. Each child is `manage.py metrics import-events FILE
--shard i/N`; the parent adds up their counts and refreshes the rollups once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from metrics.ingestion import IngestResult, ingest_generic

MAX_JOBS = 8


class ImportFailed(RuntimeError):
    """A child import process failed; str(exc) says which and why."""


def shard_of(text: str, shards: int) -> int:
    """The process a line belongs to: by its component, lines without one go to the first."""
    if shards <= 1:
        return 0
    try:
        payload = json.loads(text)
    except ValueError:
        return 0
    component = payload.get("component") if isinstance(payload, dict) else None
    if not isinstance(component, str):
        return 0
    return zlib.crc32(component.strip().lower().encode()) % shards


def file_lines(path: Path, shard: tuple[int, int] | None = None) -> Iterator[tuple[str, str]]:
    """(line number, text) of the non-blank lines, only this shard's when `shard` is given."""
    index, shards = shard or (0, 1)
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip() and (shards == 1 or shard_of(line, shards) == index):
                yield str(number), line


def _child_env() -> dict[str, str]:
    """The children write to exactly the database this process uses (which, under a test
    runner, is not the one DATABASE_URL names)."""
    db = connection.settings_dict
    user = quote(str(db.get("USER") or ""), safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = str(db.get("HOST") or "")
    name = quote(str(db["NAME"]), safe="")
    if host.startswith("/"):  # a unix socket directory (the embedded server) goes in the path
        url = f"postgres://{auth}/{quote(host, safe='')}/{name}"
    else:
        port = f":{db['PORT']}" if db.get("PORT") else ""
        url = f"postgres://{auth}{host}{port}/{name}"
    return {**os.environ, "DATABASE_URL": url}


def import_file(path: Path, *, jobs: int = 1) -> IngestResult:
    """Ingest `path` in this process (jobs=1) or in `jobs` child processes."""
    jobs = max(1, min(jobs, MAX_JOBS))
    if jobs == 1:
        return ingest_generic(file_lines(path), background=True)
    manage = Path(settings.BASE_DIR) / "manage.py"
    env = _child_env()
    total = IngestResult()
    problems: list[str] = []
    with ExitStack() as stack:
        # Output goes to files, not pipes: a child that fills a pipe nobody is reading yet
        # would stall until the parent got round to it.
        children = []
        for index in range(jobs):
            out = stack.enter_context(tempfile.TemporaryFile("w+"))
            err = stack.enter_context(tempfile.TemporaryFile("w+"))
            command = [sys.executable, str(manage), "metrics", "import-events", str(path)]
            command += ["--shard", f"{index}/{jobs}", "--json", "--no-rollups"]
            process = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=env)
            children.append((index, process, out, err))
        for index, process, out, err in children:
            process.wait()
            out.seek(0)
            err.seek(0)
            lines = out.read().strip().splitlines()
            if process.returncode != 0 or not lines:
                problem = err.read().strip()[-500:]
                problems.append(f"shard {index}/{jobs} exited {process.returncode}: {problem}")
                continue
            counts: dict[str, Any] = json.loads(lines[-1])
            total.loaded += int(counts["loaded"])
            total.duplicate += int(counts["duplicate"])
            total.unlinked += int(counts["unlinked"])
            total.invalid += [(str(r["line"]), str(r["reason"])) for r in counts["invalid_reasons"]]
    if problems:
        # The other shards' events are stored; importing the file again loads only what is
        # missing (everything else counts as a duplicate).
        raise ImportFailed("; ".join(problems) + "; run the import again to finish it")
    total.invalid.sort(key=lambda item: int(item[0]) if item[0].isdigit() else 0)
    return total
