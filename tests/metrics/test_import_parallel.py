"""`metrics import-events --jobs N`: child processes each take whole components; the result is
the same as a single-process import (real subprocesses on the real PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metrics.imports import shard_of
from metrics.models import Change, Deployment, DeploymentCommit, Incident, RawEvent
from tests.metrics.test_import_and_dora import EXAMPLE, dora_json, run

pytestmark = pytest.mark.django_db(transaction=True)


def _snapshot() -> dict[str, object]:
    return {
        "org": dora_json(),
        "checkout": dora_json("--component", "checkout"),
        "billing": dora_json("--component", "billing"),
        "rows": [
            Deployment.objects.count(),
            Change.objects.count(),
            DeploymentCommit.objects.count(),
            Incident.objects.count(),
        ],
    }


def _clear() -> None:
    for model in (DeploymentCommit, Incident, Deployment, Change, RawEvent):
        model.objects.all().delete()


def test_parallel_import_equals_a_single_process_import(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    broken = '{"type": "deployment", "component": "checkout"}\nnot json at all\n'
    source.write_text(EXAMPLE.read_text() + broken)
    lines = EXAMPLE.read_text().count("\n")

    single = json.loads(run("import-events", str(source), "--json"))
    expected = _snapshot()
    _clear()
    parallel = json.loads(run("import-events", str(source), "--json", "--jobs", "3"))
    assert _snapshot() == expected
    assert {k: parallel[k] for k in ("loaded", "duplicate", "invalid", "unlinked")} == {
        k: single[k] for k in ("loaded", "duplicate", "invalid", "unlinked")
    }
    # Invalid lines keep their own line numbers, whichever process read them.
    assert [r["line"] for r in parallel["invalid_reasons"]] == [str(lines + 1), str(lines + 2)]
    # Again: everything is a duplicate, as with one process.
    again = json.loads(run("import-events", str(source), "--json", "--jobs", "2"))
    assert (again["loaded"], again["duplicate"]) == (0, single["loaded"])


def test_a_component_always_lands_in_the_same_shard() -> None:
    a = '{"type": "change", "component": "Checkout", "sha": "1", "committed_at": "x"}'
    b = '{"type": "deployment", "id": "d", "component": " checkout "}'
    assert shard_of(a, 4) == shard_of(b, 4)
    assert shard_of("not json", 4) == 0
    assert {shard_of(f'{{"component": "c{i}"}}', 4) for i in range(50)} == {0, 1, 2, 3}


def test_jobs_must_be_positive() -> None:
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="--jobs must be 1 or more"):
        run("import-events", str(EXAMPLE), "--jobs", "0")
