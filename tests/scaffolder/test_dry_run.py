"""`scaffold dry-run`: files rendered, other actions reported, exit codes, path safety."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

CORPUS = Path("/work/shared/corpus/backstage/software-templates/scaffolder-templates")
ROOT = Path(__file__).resolve().parents[2]


def _dry_run(
    template: Path, values: dict[str, Any], out: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any]]:
    values_file = out.parent / "values.json"
    values_file.write_text(json.dumps(values))
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "scaffold",
            "dry-run",
            str(template),
            "--values",
            str(values_file),
            "--output",
            str(out),
            "--json",
        )
    stdout = capsys.readouterr().out
    return int(exit_info.value.code or 0), json.loads(stdout) if stdout.strip() else {}


def _write_template(
    tmp_path: Path, steps: str, *, skeleton: dict[str, str] | None = None, params: str = ""
) -> Path:
    folder = tmp_path / "tpl"
    (folder / "skeleton").mkdir(parents=True)
    for rel, content in (skeleton or {}).items():
        (folder / "skeleton" / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / "skeleton" / rel).write_text(content)
    path = folder / "template.yaml"
    path.write_text(
        "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: t\nspec:\n"
        "  type: service\n  parameters:\n    - properties:\n        name: {type: string}\n"
        + params
        + "  steps:\n"
        + steps
    )
    return path


@pytest.mark.django_db
def test_docs_template_from_the_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = {"name": "my-docs", "description": "Docs", "owner": "group:default/team-orders",
              "repoUrl": "github.com?owner=acme&repo=my-docs"}  # fmt: skip
    code, result = _dry_run(
        CORPUS / "docs-template/template.yaml", values, tmp_path / "out", capsys
    )
    assert code == 0
    assert result["status"] == "completed"
    assert result["error"] is None
    assert [s["id"] for s in result["steps"]] == ["fetch", "publish", "register"]
    assert result["steps"][1]["input"]["repoUrl"] == "github.com?owner=acme&repo=my-docs"
    assert result["steps"][2]["input"]["repoContentsUrl"].endswith("acme/my-docs/blob/main")
    catalog_info = (tmp_path / "out/catalog-info.yaml").read_text()
    assert 'name: "my-docs"' in catalog_info
    assert "acme/my-docs" in catalog_info
    assert (tmp_path / "out/docs/index.md").exists()
    assert result["output"]["links"][0]["url"] == "https://github.com/acme/my-docs"
    # The entityRef-only link is kept, pointing where the entity will be once registered: the
    # ref comes from the catalog-info.yaml the dry run rendered.
    assert result["output"]["links"][1] == {
        "title": "Open in catalog", "icon": "catalog",
        "entityRef": "component:default/my-docs", "url": "/catalog/default/component/my-docs/",
    }  # fmt: skip


@pytest.mark.django_db
def test_invalid_template_exits_2_with_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_template(tmp_path, "    - id: x\n      action: no:such\n")
    code, result = _dry_run(path, {}, tmp_path / "out", capsys)
    assert code == 2
    assert "template.yaml:12: step 'x': unknown action 'no:such'" in result["error"]


@pytest.mark.django_db
def test_failed_step_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write_template(
        tmp_path,
        "    - id: x\n      action: debug:log\n      input:\n        message: ${{ ''.__class__ }}\n",
    )
    code, result = _dry_run(path, {"name": "a"}, tmp_path / "out", capsys)
    assert code == 1
    assert result["status"] == "failed"
    assert "step 'x' input.message" in result["error"]
    assert "__class__" in result["error"]


@pytest.mark.django_db
def test_skeleton_names_dotfiles_copy_without_templating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    skeleton = {
        "${{ values.name }}/main.py": "NAME = '${{ values.name }}'\n",
        ".github/workflows/ci.yaml": "run: ${{ github.sha }}\n",
        ".env": "X=${{ values.name }}\n",
        "{% if values.docs %}docs.md{% endif %}": "docs",
    }
    steps = (
        "    - id: fetch\n      action: fetch:template\n      input:\n        url: ./skeleton\n"
        "        copyWithoutTemplating: ['.github/**']\n        values:\n          name: ${{ parameters.name }}\n"
        "          docs: false\n"
        "    - id: mv\n      action: fs:rename\n      input:\n        files: [{from: .env, to: .env.example}]\n"
        "    - id: rm\n      action: fs:delete\n      input:\n        files: ['**/*.pyc']\n"
    )
    (tmp_path / "tpl").mkdir()
    path = _write_template(tmp_path, steps, skeleton=skeleton)
    (path.parent / "skeleton/junk.pyc").write_text("x")
    (path.parent / "skeleton/.ruff_cache").mkdir()
    (path.parent / "skeleton/.ruff_cache/CACHEDIR.TAG").write_text("tool cache")
    code, result = _dry_run(path, {"name": "svc"}, tmp_path / "out", capsys)
    assert code == 0, result
    out = tmp_path / "out"
    assert (out / "svc/main.py").read_text() == "NAME = 'svc'\n"
    assert (out / ".github/workflows/ci.yaml").read_text() == "run: ${{ github.sha }}\n"
    assert (out / ".env.example").read_text() == "X=svc\n"
    assert not (out / ".env").exists()
    assert not (out / ".ruff_cache").exists()  # tool caches in a skeleton are never copied
    assert not (out / "junk.pyc").exists()
    assert not (out / "docs.md").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "step",
    [
        "    - id: x\n      action: fetch:template\n      input:\n        url: ./skeleton\n        targetPath: ../escape\n",
        "    - id: x\n      action: fetch:template\n      input:\n        url: ./skeleton\n        targetPath: /tmp/abs\n",
        "    - id: x\n      action: fetch:template\n      input:\n        url: ./skeleton\n        values: {n: '../../evil'}\n",
        "    - id: x\n      action: fetch:plain\n      input:\n        url: ../../\n",
        "    - id: x\n      action: fs:rename\n      input:\n        files: [{from: a.txt, to: ../../b.txt}]\n",
    ],
)
def test_paths_cannot_escape(tmp_path: Path, capsys: pytest.CaptureFixture[str], step: str) -> None:
    path = _write_template(tmp_path, step, skeleton={"${{ values.n }}/f.txt": "x", "a.txt": "a"})
    code, result = _dry_run(path, {"name": "a"}, tmp_path / "out", capsys)
    assert code == 1, result
    assert any(w in result["error"] for w in ("outside", "'..'", "absolute")), result["error"]
    assert not (tmp_path / "escape").exists()
    assert not (tmp_path / "b.txt").exists()


@pytest.mark.django_db
def test_symlink_in_workspace_cannot_be_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = (
        "    - id: a\n      action: fetch:plain\n      input:\n        url: ./skeleton\n"
        "    - id: b\n      action: fs:rename\n      input:\n        files: [{from: link/x, to: y}]\n"
    )
    path = _write_template(tmp_path, steps, skeleton={"f.txt": "x"})
    (path.parent / "skeleton/link").symlink_to(tmp_path)
    (tmp_path / "x").write_text("secret")
    code, result = _dry_run(path, {"name": "a"}, tmp_path / "out", capsys)
    # The symlink is not copied from the skeleton, so link/x does not exist in the workspace.
    assert code == 1
    assert "does not exist" in result["error"]
    assert (tmp_path / "x").exists()


@pytest.mark.django_db
def test_each_and_if(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    steps = (
        "    - id: loop\n      action: debug:log\n      each: ${{ ['a', 'b'] }}\n      input:\n        message: item ${{ each.value }}\n"
        "    - id: never\n      if: ${{ parameters.name === 'zzz' }}\n      action: debug:log\n      input:\n        message: nope\n"
    )
    path = _write_template(tmp_path, steps)
    code, result = _dry_run(path, {"name": "a"}, tmp_path / "out", capsys)
    assert code == 0
    assert [i["message"] for i in result["steps"][0]["input"]["__each__"]] == ["item a", "item b"]
    assert result["steps"][1]["status"] == "skipped"


def test_cli_process_exit_codes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [")
    proc = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "scaffold",
            "dry-run",
            str(bad),
            "--output",
            str(tmp_path / "o"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "bad.yaml:1: not valid YAML" in proc.stderr


@pytest.mark.django_db
def test_fetch_plain_file_and_cookiecutter_compat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    skeleton = {
        "{{ cookiecutter.name }}/app.py": "NAME = '{{ cookiecutter.name }}'\n",
        "LICENSE": "MIT {{ not templated }}\n",
    }
    steps = (
        "    - id: fetch\n      action: fetch:template\n      input:\n        url: ./skeleton\n"
        "        cookiecutterCompat: true\n        values:\n          name: ${{ parameters.name }}\n"
        "    - id: one\n      action: fetch:plain:file\n      input:\n"
        "        url: ./skeleton/LICENSE\n        targetPath: legal/LICENSE.txt\n"
    )
    path = _write_template(tmp_path, steps, skeleton=skeleton)
    path.parent.joinpath("skeleton/LICENSE").write_text("MIT {{ not templated }}\n")
    code, result = _dry_run(path, {"name": "svc"}, tmp_path / "out", capsys)
    assert code == 0, result
    out = tmp_path / "out"
    # cookiecutter's own {{ cookiecutter.x }} syntax renders in names and contents.
    assert (out / "svc/app.py").read_text() == "NAME = 'svc'\n"
    # fetch:plain:file copies one file as it is, to the path asked for.
    assert (out / "legal/LICENSE.txt").read_text() == "MIT {{ not templated }}\n"


@pytest.mark.django_db
def test_bad_arguments_fail_with_a_reason_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_template(tmp_path, "    - id: x\n      action: debug:log\n")
    values = tmp_path / "values.json"
    values.write_text("{not json")
    args = ["scaffold", "dry-run", str(path), "--values", str(values), "--json"]
    with pytest.raises(SystemExit) as exit_info:
        call_command(*args, "--output", str(tmp_path / "out"))
    assert exit_info.value.code == 1
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "failed"
    assert f"cannot read values from {values}" in result["error"]
    values.write_text("{}")
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    with pytest.raises(SystemExit) as exit_info:
        call_command(*args, "--output", str(a_file))
    assert exit_info.value.code == 1
    assert "is a file; give a folder" in json.loads(capsys.readouterr().out)["error"]


@pytest.mark.django_db
def test_entity_ref_link_is_kept_when_the_ref_is_not_known_yet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No catalog-info.yaml in the workspace: the ref is unknown, the link is still listed
    # (a real run drops a link that leads nowhere).
    path = _write_template(
        tmp_path,
        "    - id: register\n      action: catalog:register\n      input:\n"
        "        repoContentsUrl: https://github.com/acme/x/blob/main\n"
        "  output:\n    links:\n      - title: Open in catalog\n"
        "        entityRef: ${{ steps.register.output.entityRef }}\n"
        "      - title: Fixed\n        entityRef: component:default/fixed\n",
    )
    code, result = _dry_run(path, {"name": "a"}, tmp_path / "out", capsys)
    assert code == 0, result
    assert result["output"]["links"] == [
        {"title": "Open in catalog", "url": "", "icon": "", "entityRef": ""},
        {"title": "Fixed", "url": "/catalog/default/component/fixed/", "icon": "",
         "entityRef": "component:default/fixed"},
    ]  # fmt: skip


@pytest.mark.django_db
def test_skeleton_renders_as_nunjucks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Plain file text keeps `===`; an object prints `[object Object]`, undefined in `+` prints
    `undefined`; a file whose path renders with an empty folder is skipped, as in Backstage."""
    steps = (
        "    - id: fetch\n      action: fetch:template\n      input:\n        url: ./skeleton\n"
        "        values:\n          name: ${{ parameters.name }}\n"
        "          repo: {host: github.com}\n"
    )
    skeleton = {
        "app.ts": 'if (theme === "dark" && a !== b) {}\n// ${{ values.repo }} ${{ values.x + "/" + values.y }}\n',
        "${{ values.missing }}/root.txt": "skipped",
        "docs/${{ values.missing }}/inner.txt": "skipped",
        "${{ values.name }}.md": "${{ values.name | title }} ${{ 1.0 }}",
    }
    path = _write_template(tmp_path, steps, skeleton=skeleton)
    out = tmp_path / "out"
    code, result = _dry_run(path, {"name": "demo-site"}, out, capsys)
    assert code == 0, result
    assert (out / "app.ts").read_text() == (
        'if (theme === "dark" && a !== b) {}\n// [object Object] undefined/undefined\n'
    )
    assert (out / "demo-site.md").read_text() == "Demo-site 1"
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["app.ts", "demo-site.md"]


@pytest.mark.django_db
def test_mutating_call_in_a_skeleton_is_a_clear_json_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = (
        "    - id: fetch\n      action: fetch:template\n      input:\n        url: ./skeleton\n"
        "        values:\n          tags: ${{ parameters.tags }}\n"
    )
    params = "        tags: {type: array, items: {type: string}}\n"
    path = _write_template(
        tmp_path, steps, skeleton={"a.txt": "${{ values.tags.pop(5) }}"}, params=params
    )
    code, result = _dry_run(path, {"tags": ["a"]}, tmp_path / "out", capsys)
    assert code == 1
    assert result["status"] == "failed"
    assert "list.pop() would change a value" in result["error"]
    assert "a.txt" in result["error"]
