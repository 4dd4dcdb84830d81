"""`infra export-crossplane`: the XRDs and Compositions as files Crossplane accepts."""

from __future__ import annotations

from pathlib import Path

from infra.crossplane import render_composition, render_xrd, to_yaml
from infra.models import Composition, ResourceClass


def export_crossplane(directory: Path) -> list[Path]:
    """Write every enabled class's XRD and its Compositions as YAML files under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "xrds").mkdir(exist_ok=True)
    (directory / "compositions").mkdir(exist_ok=True)
    written: list[Path] = []
    classes = ResourceClass.objects.filter(enabled=True).order_by("name")
    for rc in classes:
        path = directory / "xrds" / f"{rc.xrd_name}.yaml"
        path.write_text(to_yaml(render_xrd(rc)))
        written.append(path)
    compositions = Composition.objects.filter(resource_class__enabled=True).select_related(
        "resource_class"
    )
    for composition in compositions.order_by("name"):
        path = directory / "compositions" / f"{composition.name}.yaml"
        path.write_text(to_yaml(render_composition(composition)))
        written.append(path)
    return written
