"""The documented worked example (docs/metrics.md) through the real commands."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Entity
from metrics.models import (
    Change,
    DailyRollup,
    Deployment,
    DeploymentCommit,
    Incident,
    RawEvent,
    RawEventStatus,
)

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE / "worked_example.jsonl"

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("metrics", *args, stdout=out)
    return out.getvalue()


def dora_json(*args: str) -> dict[str, object]:
    return json.loads(
        run("dora", "--since", "2026-03-02", "--until", "2026-03-08", "--json", *args)
    )


def test_import_counts_loaded_then_duplicates() -> None:
    assert run("import-events", str(EXAMPLE)).splitlines()[0] == "loaded 12, duplicate 0, invalid 0"
    assert run("import-events", str(EXAMPLE)).splitlines()[0] == "loaded 0, duplicate 12, invalid 0"
    assert Deployment.objects.count() == 8
    assert Incident.objects.count() == 3


def test_invalid_lines_are_reported_and_never_stop_valid_ones(tmp_path: Path) -> None:
    f = tmp_path / "events.jsonl"
    f.write_text(
        "\n".join(
            [
                '{"type": "deployment", "component": "x", "environment": "production", '
                '"status": "success", "finished_at": "2026-03-02T10:00:00Z"}',
                "{not json",
                '{"type": "change", "component": "x", "sha": "a1", "committed_at": "2026-03-01T00:00:00Z"}',
                '{"type": "deployment", "id": "ok", "component": "x", "environment": "production", '
                '"status": "maybe", "finished_at": "2026-03-02T10:00:00Z"}',
                '{"type": "incident", "id": "i", "component": "x", "started_at": "yesterday"}',
                '{"type": "deployment", "id": "good", "component": "x", "environment": "production", '
                '"status": "success", "finished_at": "2026-03-02T10:00:00Z", "extra_field": 7}',
                '{"type": "change", "component": "'
                + "c" * 300
                + '", "sha": "a2", "committed_at": "2026-03-01T00:00:00Z"}',
            ]
        )
    )
    out = run("import-events", str(f))
    lines = out.splitlines()
    assert lines[0] == "loaded 2, duplicate 0, invalid 5"
    assert "line 7: invalid: 'component' is longer than 253 characters" in out
    assert "line 1: invalid: missing required field 'id'" in out
    assert "line 2: invalid: not valid JSON" in out
    assert "line 4: invalid: 'status' must be 'success' or 'failure'" in out
    assert "line 5: invalid: 'started_at' is not an ISO-8601 date-time" in out
    assert Deployment.objects.get(external_id="good").extra == {"extra_field": 7}
    # Invalid lines are kept for inspection.
    assert RawEvent.objects.filter(status=RawEventStatus.INVALID).count() == 5


def test_import_json_counts(tmp_path: Path) -> None:
    data = json.loads(run("import-events", str(EXAMPLE), "--json"))
    assert (data["loaded"], data["duplicate"], data["invalid"]) == (12, 0, 0)


def test_worked_example_component() -> None:
    run("import-events", str(EXAMPLE))
    assert dora_json("--component", "checkout") == {
        "deployments": 4,
        "deployment_days": 4,
        "deployment_frequency_per_day": round(4 / 7, 9),
        "lead_time_median_hours": 16.0,
        "lead_time_p90_hours": 45.6,
        "change_failure_rate": 0.75,
        "recovery_time_median_hours": 4.0,
        "rework_rate": 0.5,
        "bands": {
            "deployment_frequency": "high",
            "lead_time": "elite",
            "change_failure_rate": "low",
            "recovery_time": "high",
        },
    }


def test_worked_example_organisation_and_staging() -> None:
    run("import-events", str(EXAMPLE))
    org = dora_json()
    assert org["deployments"] == 5
    assert org["deployment_days"] == 4
    assert org["lead_time_median_hours"] == 6.0
    assert org["lead_time_p90_hours"] == 42.8
    assert org["change_failure_rate"] == 0.6
    assert org["rework_rate"] == 0.4
    staging = dora_json("--environment", "staging")
    assert staging["deployments"] == 1
    # c4 reached staging on 03-05 08:30, committed 03-04 12:00.
    assert staging["lead_time_median_hours"] == 20.5


def test_first_deployment_ever_decides_lead_time() -> None:
    run("import-events", str(EXAMPLE))
    # c0 was first deployed by d0 (before the window); re-shipping it in d1 does not count.
    c0 = Change.objects.get(sha="c0")
    assert c0.first_prod_deployment.external_id == "d0"
    assert Change.objects.get(sha="c4").first_prod_deployment.external_id == "d5"
    # A window holding only d0 counts c0: 24 hours.
    out = json.loads(
        run(
            "dora",
            "--component",
            "checkout",
            "--since",
            "2026-02-28",
            "--until",
            "2026-02-28",
            "--json",
        )
    )
    assert out["lead_time_median_hours"] == 24.0


def test_attribution_and_rollback() -> None:
    run("import-events", str(EXAMPLE))
    incidents = {i.external_id: i for i in Incident.objects.select_related("attributed_deployment")}
    assert incidents["i1"].attributed_deployment.external_id == "d1"
    assert incidents["i2"].attributed_deployment.external_id == "d5"  # unresolved still counts
    assert incidents["i3"].attributed_explicitly
    assert Deployment.objects.get(external_id="d3").undone_by.external_id == "d4"
    assert Deployment.objects.get(external_id="d4").undone_by is None


def test_empty_window_gives_zero_frequency_and_nulls() -> None:
    run("import-events", str(EXAMPLE))
    out = json.loads(
        run(
            "dora",
            "--component",
            "checkout",
            "--since",
            "2025-01-01",
            "--until",
            "2025-01-31",
            "--json",
        )
    )
    assert out["deployments"] == 0
    assert out["deployment_frequency_per_day"] == 0.0
    for key in (
        "lead_time_median_hours",
        "lead_time_p90_hours",
        "change_failure_rate",
        "recovery_time_median_hours",
        "rework_rate",
    ):
        assert out[key] is None


def test_team_scope_uses_catalog_owner() -> None:
    Entity.objects.create(kind="Component", name="checkout", owner_ref="group:default/team-orders")
    Entity.objects.create(kind="Component", name="billing", owner_ref="group:default/team-payments")
    run("import-events", str(EXAMPLE))
    assert dora_json("--team", "team-orders")["deployments"] == 4
    assert dora_json("--team", "team-payments")["deployments"] == 1
    assert Deployment.objects.filter(component__isnull=False).count() == 8


def test_out_of_order_deployment_reattributes_incident(tmp_path: Path) -> None:
    f1 = tmp_path / "a.jsonl"
    f1.write_text(
        '{"type": "deployment", "id": "x1", "component": "x", "environment": "production", '
        '"status": "success", "finished_at": "2026-03-02T10:00:00Z", "commits": []}\n'
        '{"type": "incident", "id": "ix", "component": "x", "started_at": "2026-03-03T10:00:00Z"}\n'
    )
    run("import-events", str(f1))
    assert Incident.objects.get().attributed_deployment.external_id == "x1"
    f2 = tmp_path / "b.jsonl"
    f2.write_text(
        '{"type": "deployment", "id": "x2", "component": "x", "environment": "production", '
        '"status": "success", "finished_at": "2026-03-03T09:00:00Z", "commits": []}\n'
    )
    run("import-events", str(f2))
    assert Incident.objects.get().attributed_deployment.external_id == "x2"


def test_bad_arguments() -> None:
    with pytest.raises(CommandError, match="not a date"):
        run("dora", "--since", "March", "--until", "2026-03-08")
    with pytest.raises(CommandError, match="before"):
        run("dora", "--since", "2026-03-08", "--until", "2026-03-01")
    with pytest.raises(CommandError, match="does not exist"):
        run("import-events", "/nonexistent.jsonl")


def test_incident_naming_a_later_deployment_is_attributed_when_it_arrives(tmp_path: Path) -> None:
    f1 = tmp_path / "a.jsonl"
    f1.write_text(
        '{"type": "incident", "id": "iy", "component": "y", "started_at": "2026-03-03T10:00:00Z", '
        '"deployment": "y1"}\n'
    )
    run("import-events", str(f1))
    assert Incident.objects.get().attributed_deployment is None
    f2 = tmp_path / "b.jsonl"
    f2.write_text(
        '{"type": "deployment", "id": "y1", "component": "y", "environment": "production", '
        '"status": "success", "finished_at": "2026-03-03T09:00:00Z", "commits": []}\n'
    )
    run("import-events", str(f2))
    incident = Incident.objects.get()
    assert incident.attributed_deployment.external_id == "y1"
    assert incident.attributed_explicitly


def _stored() -> dict[str, object]:
    """Everything ingestion and rollups wrote, by natural keys (ids differ between runs)."""
    deps = {d.pk: d.external_id for d in Deployment.objects.all()}
    changes = {c.pk: (c.component_key, c.sha) for c in Change.objects.all()}
    return {
        "deployments": sorted(
            (d.external_id, d.component_key, d.status, d.finished_at, deps.get(d.undone_by_id))
            for d in Deployment.objects.all()
        ),
        "changes": sorted(
            (c.component_key, c.sha, c.committed_at, deps.get(c.first_prod_deployment_id))
            for c in Change.objects.all()
        ),
        "links": sorted(
            (deps[link.deployment_id], changes[link.change_id], link.inferred)
            for link in DeploymentCommit.objects.all()
        ),
        "incidents": sorted(
            (i.external_id, deps.get(i.attributed_deployment_id), i.attributed_explicitly)
            for i in Incident.objects.all()
        ),
        "raw": sorted(RawEvent.objects.values_list("delivery_id", "status", "payload")),
        "rollups": sorted(
            DailyRollup.objects.values_list(
                "scope", "environment", "day", "deployments", "failed", "lead_times", "lt_b5"
            )
        ),
        "dora": dora_json("--component", "checkout"),
    }


def test_late_events_in_a_second_file_are_folded_in(tmp_path: Path) -> None:
    """A second file with a late rollback and a late commit: both stored, the rollups and DORA
    numbers include them, and importing both files again changes nothing."""
    late = tmp_path / "late.jsonl"
    late.write_text(
        '{"type": "deployment", "id": "late-1", "component": "checkout", '
        '"environment": "production", "status": "success", "started_at": "2026-03-02T06:00:00Z", '
        '"finished_at": "2026-03-02T06:30:00Z", "rollback": true}\n'
        '{"type": "change", "component": "checkout", "sha": "late-sha", '
        '"committed_at": "2026-03-01T01:00:00Z"}\n'
    )
    Entity.objects.create(kind="Component", name="checkout", owner_ref="group:default/team-orders")

    def load() -> dict[str, object]:
        run("import-events", str(EXAMPLE))
        run("import-events", str(late))
        return _stored()

    first = load()
    assert first["dora"]["deployments"] == 5  # type: ignore[index]  # 4 + the late one
    assert any(link[2] for link in first["links"])  # type: ignore[attr-defined]  # inferred
    assert Change.objects.filter(sha="late-sha").exists()
    assert Deployment.objects.get(external_id="late-1").is_rollback
    assert load() == first
