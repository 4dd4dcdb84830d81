"""`infra export-crossplane`: the XRDs, Compositions and Function packages as files a Crossplane
control plane accepts: v2 by default, v1 (1.x, claims and native patch-and-transform) on request."""

from __future__ import annotations

from pathlib import Path

from infra.crossplane import (
    EXPORT_TARGETS,
    ExportError,
    export_composition,
    render_function,
    render_xrd,
    to_yaml,
)
from infra.models import Composition, ResourceClass


def export_crossplane(directory: Path, *, crossplane: str = "v2") -> list[Path]:
    """Write every enabled class's XRD and its Compositions as YAML files under `directory`.
    Everything is rendered first, so a class the target cannot serve writes nothing."""
    if crossplane not in EXPORT_TARGETS:
        raise ExportError(
            f"unknown Crossplane version {crossplane!r}: choose {' or '.join(EXPORT_TARGETS)}"
        )
    files: dict[Path, str] = {}
    for rc in ResourceClass.objects.filter(enabled=True).order_by("name"):
        files[Path("xrds") / f"{rc.xrd_name}.yaml"] = to_yaml(render_xrd(rc))
    compositions = Composition.objects.filter(resource_class__enabled=True).select_related(
        "resource_class"
    )
    pipeline = False
    for composition in compositions.order_by("name"):
        rendered = export_composition(composition, target=crossplane)
        pipeline = pipeline or rendered["spec"].get("mode") == "Pipeline"
        files[Path("compositions") / f"{composition.name}.yaml"] = to_yaml(rendered)
    if pipeline:
        function = render_function()
        files[Path("functions") / f"{function['metadata']['name']}.yaml"] = to_yaml(function)
    written: list[Path] = []
    for relative, text in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written
