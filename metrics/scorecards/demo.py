"""Demo: Paved's own catalog-info.yaml (repository root) joins the catalog, then every component
is evaluated so the demo shows scorecards. Runs after the catalog and metrics loaders."""

from __future__ import annotations

from pathlib import Path

from catalog.ingestion import FILE, Target
from catalog.services import refresh_location, register_location
from portal.demo import register_demo_loader

PAVED_CATALOG_INFO = Path(__file__).resolve().parents[2] / "catalog-info.yaml"


def load_paved_and_scorecards() -> str:
    from metrics.scorecards.services import evaluate

    location = register_location(target=Target(FILE, str(PAVED_CATALOG_INFO)), actor=None)
    result = refresh_location(location=location)
    evaluated = evaluate()
    return (
        f"Paved's own catalog-info.yaml: {result.added + result.updated + result.unchanged} "
        f"entities; {len(evaluated)} scorecard results"
    )


register_demo_loader("scorecards", 95, load_paved_and_scorecards)
