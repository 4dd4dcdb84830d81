"""The compatibility corpus: public v1beta3 templates, their recorded values, and running them
through Paved's dry-run.

    python tests/scaffolder/compat/corpus.py record   # values (if missing) + cases.json

`record` writes the values a user would give (values/<id>.json: defaults, the first enum entry,
a picked entity or repository; kept once written, edit them by hand) and cases.json: per
template that completes, the resolved inputs of its fetch:template/fetch:plain steps. The oracle
(oracle/render.js, real Nunjucks 3.2.4) renders cases.json into expected/.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
COLLECTIONS = HERE / "collections"
VALUES = HERE / "values"
CASES = HERE / "cases.json"
EXPECTED = HERE / "expected"
RENDERING_ACTIONS = ("fetch:template", "fetch:plain")


@dataclass
class Outcome:
    template_id: str
    status: str
    error: str | None
    steps: list[dict[str, Any]]
    files: dict[str, bytes]


def template_paths() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(COLLECTIONS.rglob("template.yaml")):
        rel = path.parent.relative_to(COLLECTIONS)
        if "skeleton" in rel.parts or "{{" in str(rel) or "${{" in str(rel):
            continue
        found.append((str(rel).replace("/", "--"), path))
    return found


def _value_for(name: str, schema: dict[str, Any]) -> Any:
    if "default" in schema:
        return schema["default"]
    if schema.get("enum"):
        return schema["enum"][0]
    field = str(schema.get("ui:field") or "")
    kind = schema.get("type")
    if field == "RepoUrlPicker":
        return "github.com?owner=acme&repo=demo-repo"
    if field in ("OwnerPicker", "OwnedEntityPicker", "EntityPicker", "MyGroupsPicker"):
        options = schema.get("ui:options") or {}
        wanted = (options.get("catalogFilter") or {}).get("kind") or options.get("allowedKinds")
        if isinstance(wanted, list):
            wanted = wanted[0] if wanted else None
        kind_name = str(wanted or "group").lower()
        return f"{kind_name}:default/demo-{kind_name}"
    if kind in ("number", "integer"):
        return 1
    if kind == "boolean":
        return False
    if kind == "array":
        items = schema.get("items") or {}
        return [items["enum"][0]] if items.get("enum") else ["demo"]
    if kind == "object":
        return {}
    return "demo-" + "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def generated_values(pages: list[dict[str, Any]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for page in pages:
        for name, schema in (page.get("properties") or {}).items():
            if isinstance(schema, dict) and schema.get("ui:widget") != "password":
                values[name] = _value_for(name, schema)
    return values


def values_for(template_id: str, pages: list[dict[str, Any]]) -> dict[str, Any]:
    path = VALUES / f"{template_id}.json"
    if path.exists():
        return dict(json.loads(path.read_text(encoding="utf-8")))
    values = generated_values(pages)
    VALUES.mkdir(exist_ok=True)
    path.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return values


def run(template_id: str, path: Path) -> Outcome:
    """Load and dry-run one template with its recorded values."""
    from scaffolder.dry_run import dry_run
    from scaffolder.loader import TemplateInvalid, load_template_file

    try:
        template = load_template_file(path)
    except TemplateInvalid as exc:
        return Outcome(template_id, "invalid", str(exc), [], {})
    values = values_for(template_id, template.pages)
    with tempfile.TemporaryDirectory(prefix="paved-compat-") as tmp:
        result = dry_run(template, values, workspace=Path(tmp) / "workspace")
    return Outcome(template_id, result.status, result.error, result.steps, result.files)


def case_for(outcome: Outcome, path: Path) -> dict[str, Any]:
    """What the oracle needs: each rendering step's resolved inputs, skeleton paths relative
    to this folder."""
    steps = []
    for step in outcome.steps:
        if step["action"] not in RENDERING_ACTIONS or step["status"] != "completed":
            continue
        inputs = dict(step["input"])
        skeleton = (path.parent / str(inputs.pop("url"))).resolve()
        inputs["skeleton"] = str(skeleton.relative_to(HERE))
        inputs["plain"] = step["action"] == "fetch:plain"
        steps.append(inputs)
    return {"id": outcome.template_id, "steps": steps}


def record() -> None:
    cases = []
    for template_id, path in template_paths():
        outcome = run(template_id, path)
        print(f"{outcome.status:>9}  {template_id}  {outcome.error or ''}"[:200])
        if outcome.status == "completed":
            cases.append(case_for(outcome, path))
    expressions = json.loads((HERE / "expressions.json").read_text(encoding="utf-8"))
    CASES.write_text(
        json.dumps({"templates": cases, "expressions": expressions}, indent=2) + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    if sys.argv[1:] == ["record"]:
        record()
    else:
        print(__doc__)
