"""`manage.py catalog validate [--json] PATH...`: output shape and exit codes 0/1/2."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from catalog.models import ExtraKind
from tests.catalog.corpus import CORPUS

GOOD = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: petstore
  annotations:
    example.com/enabled: no
  labels:
    since: 2025-03-14
spec:
  type: service
  lifecycle: production
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
"""
BAD = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: Pet Store
  tags: [Go]
spec:
  type: service
  owner: team-a
"""


def run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = 0
    try:
        call_command("catalog", "validate", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, text in {"good.yaml": GOOD, "bad.yaml": BAD,
                       "dup.yaml": "kind: Component\nkind: API\n",
                       "broken.yaml": "metadata: [unclosed\n"}.items():  # fmt: skip
        paths[name] = tmp_path / name
        paths[name].write_text(text)
    return paths


@pytest.mark.django_db
def test_valid_file_exits_0_and_json_lists_each_document(files: dict[str, Path]) -> None:
    code, out, _ = run("--json", str(files["good.yaml"]))
    assert code == 0
    assert json.loads(out) == [
        {"path": str(files["good.yaml"]), "index": 0, "kind": "Component", "name": "petstore",
         "valid": True, "errors": [], "warnings": []},
        {"path": str(files["good.yaml"]), "index": 1, "kind": "Group", "name": "team-a",
         "valid": True, "errors": [], "warnings": []},
    ]  # fmt: skip


@pytest.mark.django_db
def test_invalid_document_exits_1_with_every_error_named(files: dict[str, Path]) -> None:
    code, out, _ = run("--json", str(files["good.yaml"]), str(files["bad.yaml"]))
    assert code == 1
    reports = json.loads(out)
    assert [r["valid"] for r in reports] == [True, True, False]
    errors = reports[2]["errors"]
    assert any(e.startswith('metadata.name: "Pet Store" is not valid') for e in errors)
    assert any(e.startswith('metadata.tags.0: "Go" is not valid') and "tag rule" in e
               for e in errors)  # fmt: skip
    assert "spec.lifecycle: is required for Component entities" in errors


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "message"), [
    ("dup.yaml", "duplicate key 'kind'"),
    ("broken.yaml", "YAML error at line 2"),
    ("missing.yaml", "no such file"),
])  # fmt: skip
def test_unreadable_or_unparseable_file_exits_2(
    files: dict[str, Path], tmp_path: Path, name: str, message: str
) -> None:
    code, out, err = run("--json", str(files["good.yaml"]), str(tmp_path / name))
    assert code == 2
    assert message in err
    assert len(json.loads(out)) == 2  # the readable file is still reported


@pytest.mark.django_db
def test_text_output_names_document_and_summary(files: dict[str, Path]) -> None:
    code, out, _ = run(str(files["bad.yaml"]))
    assert code == 1
    assert "INVALID" in out
    assert "document 0: metadata.name" in out
    assert "1 documents, 0 valid, 1 invalid" in out


@pytest.mark.django_db
def test_unknown_kind_rejected_until_registered(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: AiModel\nmetadata: {name: m}\n"
        "spec: {owner: team-a}\n"
    )
    code, out, _ = run("--json", str(path))
    assert code == 1
    assert 'unknown kind "AiModel"' in json.loads(out)[0]["errors"][0]
    ExtraKind.objects.create(kind="AiModel", required_spec_fields="owner")
    assert run("--json", str(path))[0] == 0
    path.write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: AiModel\nmetadata: {name: m}\nspec: {}\n"
    )
    code, out, _ = run("--json", str(path))
    assert code == 1
    assert "spec.owner: is required for AiModel entities" in out


@pytest.mark.django_db
def test_lowercase_core_kind_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("apiVersion: backstage.io/v1alpha1\nkind: component\nmetadata: {name: x}\n")
    out = json.loads(run("--json", str(path))[1])
    assert 'Did you mean "Component"?' in out[0]["errors"][0]


@pytest.mark.django_db
def test_corpus_examples_validate_like_backstage() -> None:
    examples = CORPUS / "backstage-backstage/packages/catalog-model/examples"
    if not examples.exists():
        pytest.skip("corpus missing")
    files = sorted(str(p) for p in examples.rglob("*.yaml"))
    code, out, _ = run("--json", *files)
    invalid = {(Path(r["path"]).name, r["name"]) for r in json.loads(out) if not r["valid"]}
    assert code == 1
    assert invalid == {("invalid-component.yaml", "invalid component"),
                       ("spotify-api.yaml", "spotify"),
                       ("wayback-archive-api.yaml", "wayback-archive")}  # fmt: skip


def test_whole_process_exit_codes(files: dict[str, Path]) -> None:
    """Through manage.py in a subprocess, as CI scripts call it."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    def call(*paths: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", "catalog", "validate", "--json", *map(str, paths)],
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    ok = call(files["good.yaml"])
    assert ok.returncode == 0
    assert all(doc["valid"] for doc in json.loads(ok.stdout))
    assert call(files["bad.yaml"]).returncode == 1
    broken = call(files["good.yaml"], files["broken.yaml"])
    assert broken.returncode == 2
    assert "YAML error at line 2" in broken.stderr
