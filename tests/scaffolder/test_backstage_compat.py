"""Backstage templates that run unchanged: URLs resolved as Backstage resolves them, the Roadie
and fs actions, `steps: []`, notification:send's inputs, and actions Paved refuses clearly."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from portal.providers.github.provider import git_blob_sha
from scaffolder.dry_run import dry_run
from scaffolder.loader import TemplateInvalid, load_template_file, load_template_text


def _template(path: Path, steps: list[dict[str, Any]], **spec: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "t"},
        "spec": {
            "type": "service",
            "parameters": [{"properties": {"name": {"type": "string"}}}],
            "steps": steps,
            **spec,
        },
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def _repo(root: Path, files: dict[str, str]) -> Path:
    _write(root, files)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def _run(template: Path, tmp_path: Path, values: dict[str, Any] | None = None) -> Any:
    return dry_run(
        load_template_file(template),
        values or {"name": "svc"},
        workspace=tmp_path / "out",
        platform={},
    )


@pytest.mark.django_db
def test_dot_dot_urls_reach_skeletons_shared_inside_the_repository(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path / "templates-repo",
        {
            "skeletons/python/${{ values.name }}.py": "NAME = '${{ values.name }}'\n",
            "shared/LICENSE": "MIT\n",
        },
    )
    template = _template(
        repo / "templates" / "python" / "template.yaml",
        [
            {
                "id": "fetch",
                "action": "fetch:template",
                "input": {"url": "../../skeletons/python", "values": {"name": "orders"}},
            },
            {
                "id": "licence",
                "action": "fetch:plain:file",
                "input": {"url": "../../shared/LICENSE", "targetPath": "LICENSE"},
            },
        ],
    )
    result = _run(template, tmp_path)
    assert result.status == "completed", result.error
    assert result.files == {"orders.py": b"NAME = 'orders'\n", "LICENSE": b"MIT\n"}


@pytest.mark.django_db
def test_a_template_in_no_repository_may_not_go_up(tmp_path: Path) -> None:
    _write(tmp_path / "loose", {"skeleton/a.txt": "a\n", "t/x": ""})
    template = _template(
        tmp_path / "loose" / "t" / "template.yaml",
        [{"id": "f", "action": "fetch:plain", "input": {"url": "../skeleton"}}],
    )
    result = _run(template, tmp_path)
    assert result.status == "failed"
    assert "leads outside the repository the template came from" in result.error
    assert result.files == {}


@pytest.mark.django_db
def test_a_missing_relative_url_is_named(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "r", {"README.md": ""})
    template = _template(
        repo / "t" / "template.yaml",
        [{"id": "f", "action": "fetch:plain", "input": {"url": "../skeletons/none"}}],
    )
    result = _run(template, tmp_path)
    assert result.status == "failed"
    assert "skeletons/none does not exist in the template's repository" in result.error


def _seed(fake: Any, full: str, files: dict[str, bytes], *, private: bool = False) -> None:
    owner, name = full.split("/")
    fake._create(owner, name, {"name": name, "private": private})
    repo = fake.repos[full]
    entries = {}
    for path, data in files.items():
        repo["blobs"][git_blob_sha(data)] = data
        entries[path] = ("100644", git_blob_sha(data))
    tree = fake._store_tree(repo, entries)
    repo["refs"]["heads/main"] = fake._new_commit(repo, tree, [], "seed")


@pytest.fixture
def github(settings: Any) -> Any:
    from tests.fakes.github import FakeGitHub

    fake = FakeGitHub().start()
    settings.PAVED_GIT_PROVIDER = "github"
    settings.PAVED_GITHUB_API_URL = fake.url
    settings.PAVED_GITHUB_TOKEN = "ghp_test"
    settings.PAVED_GITHUB_ORG = "acme"
    settings.PAVED_GITHUB_APP_ID = ""
    settings.PAVED_GITHUB_APP_PRIVATE_KEY = ""
    settings.PAVED_GITHUB_INSTALLATION_ID = ""
    settings.PAVED_GITHUB_THROTTLE = False
    settings.PAVED_PROVIDER_TIMEOUT = 5
    yield fake
    fake.stop()


@pytest.mark.django_db
def test_remote_urls_are_read_through_the_configured_github_integration(
    tmp_path: Path, github: Any
) -> None:
    _seed(
        github,
        "acme/skeletons",
        {
            "node/package.json": b'{"name": "${{ values.name }}"}\n',
            "node/src/index.js": b"console.log('${{ values.name }}')\n",
            "other/secret.txt": b"not copied\n",
            "LICENSE": b"Apache-2.0\n",
        },
    )
    host = github.url.split("://", 1)[1].rstrip("/")
    template = _template(
        tmp_path / "t" / "template.yaml",
        [
            {
                "id": "fetch",
                "action": "fetch:template",
                "input": {
                    "url": f"http://{host}/acme/skeletons/tree/main/node",
                    "values": {"name": "web"},
                },
            },
            {
                "id": "licence",
                "action": "fetch:plain:file",
                "input": {
                    "url": f"http://{host}/acme/skeletons/blob/main/LICENSE",
                    "targetPath": "LICENSE",
                },
            },
        ],
    )
    result = _run(template, tmp_path)
    assert result.status == "completed", result.error
    assert result.files == {
        "package.json": b'{"name": "web"}\n',
        "src/index.js": b"console.log('web')\n",
        "LICENSE": b"Apache-2.0\n",
    }


@pytest.mark.django_db
def test_a_remote_url_on_a_host_that_is_no_integration_is_refused(
    tmp_path: Path, github: Any
) -> None:
    template = _template(
        tmp_path / "t" / "template.yaml",
        [
            {
                "id": "fetch",
                "action": "fetch:plain",
                "input": {"url": "https://gitlab.example.com/acme/skeletons/tree/main/node"},
            }
        ],
    )
    result = _run(template, tmp_path)
    assert result.status == "failed"
    assert "gitlab.example.com is not a configured git integration" in result.error
    assert result.files == {}


@pytest.mark.django_db
def test_a_private_repository_is_read_only_for_someone_who_may(tmp_path: Path, github: Any) -> None:
    _seed(github, "acme/payments-internal", {"keys/id": b"private\n"}, private=True)
    host = github.url.split("://", 1)[1].rstrip("/")
    template = _template(
        tmp_path / "t" / "template.yaml",
        [
            {
                "id": "fetch",
                "action": "fetch:plain",
                "input": {"url": f"http://{host}/acme/payments-internal/tree/main/keys"},
            }
        ],
    )
    result = _run(template, tmp_path)  # nobody in particular asked
    assert result.status == "failed"
    assert "is private to its team" in result.error
    assert result.files == {}


@pytest.mark.django_db
def test_fs_read_readdir_and_roadie_utilities(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    _write(
        folder,
        {
            "skeleton/package.json": json.dumps(
                {"name": "x", "scripts": {"test": "jest"}, "keywords": ["a"]}
            ),
            "skeleton/app.yaml": "replicas: 1\nports: [80]\n",
            "skeleton/docs/index.md": "# Docs\n",
        },
    )
    template = _template(
        folder / "template.yaml",
        [
            {"id": "fetch", "action": "fetch:plain", "input": {"url": "./skeleton"}},
            {
                "id": "merge",
                "action": "roadiehq:utils:merge",
                "input": {
                    "path": "package.json",
                    "content": {"scripts": {"lint": "eslint"}, "keywords": ["b"]},
                    "mergeArrays": True,
                },
            },
            {
                "id": "merge-yaml",
                "action": "roadiehq:utils:merge",
                "input": {"path": "app.yaml", "content": "replicas: 3\n"},
            },
            {"id": "read", "action": "fs:read", "input": {"path": "package.json"}},
            {
                "id": "parse",
                "action": "roadiehq:utils:fs:parse",
                "input": {"path": "app.yaml", "parser": "yaml"},
            },
            {"id": "list", "action": "fs:readdir", "input": {"paths": ["."], "recursive": True}},
            {
                "id": "jsonata",
                "action": "roadiehq:utils:jsonata",
                "input": {
                    "data": "${{ steps.parse.output.content }}",
                    "expression": "$sum(ports) + replicas",
                },
            },
            {
                "id": "transform",
                "action": "roadiehq:utils:jsonata:json:transform",
                "input": {"path": "package.json", "expression": "$keys(scripts)"},
            },
        ],
        output={
            "text": [
                {"title": "read", "content": "${{ steps.read.output.content }}"},
                {"title": "files", "content": "${{ steps.list.output.files | length }}"},
                {"title": "sum", "content": "${{ steps.jsonata.output.result }}"},
                {"title": "keys", "content": "${{ steps.transform.output.result }}"},
            ]
        },
    )
    result = _run(template, tmp_path)
    assert result.status == "completed", result.error
    package = json.loads(result.files["package.json"])
    assert package == {
        "name": "x",
        "scripts": {"test": "jest", "lint": "eslint"},
        "keywords": ["a", "b"],
    }
    assert yaml.safe_load(result.files["app.yaml"]) == {"replicas": 3, "ports": [80]}
    shown = {item["title"]: item["content"] for item in result.output["text"]}
    assert json.loads(shown["read"]) == package
    assert shown["files"] == "3"
    assert shown["sum"] == "83"
    assert json.loads(shown["keys"]) == ["test", "lint"]


@pytest.mark.django_db
def test_a_runaway_jsonata_expression_is_stopped(tmp_path: Path, settings: Any) -> None:
    settings.PAVED_EXPRESSION_TIMEOUT_MS = 200
    template = _template(
        tmp_path / "t" / "template.yaml",
        [
            {
                "id": "burn",
                "action": "roadiehq:utils:jsonata",
                "input": {
                    "data": {},
                    "expression": "($f := function($n){ $n = 0 ? 0 : $f($n - 1) + $f($n - 1) }; $f(60))",
                },
            }
        ],
    )
    result = _run(template, tmp_path)
    assert result.status == "failed"
    assert "JSONata expression" in result.error
    assert "stopped" in result.error


@pytest.mark.django_db
def test_invalid_jsonata_is_a_plain_message(tmp_path: Path) -> None:
    template = _template(
        tmp_path / "t" / "template.yaml",
        [
            {
                "id": "bad",
                "action": "roadiehq:utils:jsonata",
                "input": {"data": {}, "expression": "$sum("},
            }
        ],
    )
    result = _run(template, tmp_path)
    assert result.status == "failed"
    assert "invalid JSONata expression" in result.error


def _document(steps: Any) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "scaffolder.backstage.io/v1beta3",
            "kind": "Template",
            "metadata": {"name": "t"},
            "spec": {"type": "service", "steps": steps},
        }
    )


@pytest.mark.parametrize(
    ("action", "named"),
    [
        ("publish:azure", "Azure DevOps"),
        ("azure:repo:clone", "Azure DevOps"),
        ("publish:bitbucket", "Bitbucket"),
        ("publish:bitbucketCloud", "Bitbucket"),
        ("publish:bitbucketServer:pull-request", "Bitbucket"),
        ("fetch:rails", "fetch:template"),
    ],
)
def test_actions_paved_cannot_serve_are_refused_at_load_time(action: str, named: str) -> None:
    with pytest.raises(TemplateInvalid) as refused:
        load_template_text(_document([{"id": "s", "action": action, "input": {}}]))
    assert len(refused.value.problems) == 1
    message = refused.value.problems[0].message
    assert f"action {action!r} is not available in Paved" in message
    assert named in message


def test_an_empty_step_list_is_a_valid_template() -> None:
    assert load_template_text(_document([])).steps == []
    with pytest.raises(TemplateInvalid) as refused:
        load_template_text(_document("fetch"))
    assert [p.message for p in refused.value.problems] == ["spec.steps must be a list"]


@pytest.mark.django_db
def test_an_empty_step_list_runs_to_completion(tmp_path: Path) -> None:
    result = _run(_template(tmp_path / "t" / "template.yaml", []), tmp_path)
    assert result.status == "completed", result.error


def test_notification_send_takes_backstages_inputs() -> None:
    from runs.registry import get_step_kind

    kind = get_step_kind("notification:send")
    inputs = {"recipients": "entity", "entityRefs": ["group:default/team-orders"],
              "title": "Hi", "info": "Made", "link": "https://x.test", "severity": "normal",
              "scope": "s", "optional": True, "topic": "scaffolder"}  # fmt: skip
    kind.validate_inputs(inputs)
    with pytest.raises(ValueError, match="recipients"):
        kind.validate_inputs({"recipients": "someone", "title": "Hi"})


def _cookiecutter(folder: Path, files: dict[str, str], values: dict[str, Any]) -> Path:
    # As in Backstage: the folder at `url` is the project's contents; `values` is cookiecutter.json.
    _write(folder, files)
    return _template(
        folder / "template.yaml",
        [{"id": "cc", "action": "fetch:cookiecutter",
          "input": {"url": "./cc", "values": values, "targetPath": "app"}}],
    )  # fmt: skip


@pytest.mark.django_db
def test_fetch_cookiecutter_renders_with_the_real_cookiecutter(tmp_path: Path) -> None:
    template = _cookiecutter(
        tmp_path / "t",
        {"cc/README.md": "# {{ cookiecutter.project_slug }} on {{ cookiecutter.port }}\n",
         "cc/{{cookiecutter.project_slug}}.py": "NAME = {{ cookiecutter.project_slug | jsonify }}\n",
         "cc/hooks/post_gen_project.py": "import os; os.system('touch /tmp/pwned')\n"},
        {"project_slug": "orders", "port": 8000},
    )  # fmt: skip
    result = _run(template, tmp_path)
    assert result.status == "completed", result.error
    assert result.files == {
        "app/README.md": b"# orders on 8000\n",
        "app/orders.py": b'NAME = "orders"\n',
        # A hooks/ folder in the contents is a file of the project, never run.
        "app/hooks/post_gen_project.py": b"import os; os.system('touch /tmp/pwned')\n",
    }


@pytest.mark.django_db
def test_fetch_cookiecutter_runs_no_template_code(tmp_path: Path) -> None:
    extension = _cookiecutter(tmp_path / "ext", {"cc/a.txt": "a"},
                              {"project_slug": "x", "_extensions": ["evil.Ext"]})  # fmt: skip
    result = _run(extension, tmp_path / "1")
    assert result.status == "failed"
    assert "_extensions" in result.error
    assert "Paved does not allow it" in result.error
    escape = _cookiecutter(
        tmp_path / "ssti", {"cc/a.txt": "{{ ''.__class__.__mro__[1].__subclasses__() }}"},
        {"project_slug": "x"},
    )  # fmt: skip
    result = _run(escape, tmp_path / "2")
    assert result.status == "failed"
    assert "unsafe" in result.error
    assert result.files == {}
    outside = tmp_path / "escaped"
    climb = _cookiecutter(
        tmp_path / "climb", {"cc/{{cookiecutter.dest}}/x.txt": "x"},
        {"dest": "../" * 12 + str(outside)[1:]},
    )  # fmt: skip
    result = _run(climb, tmp_path / "3")
    assert result.status == "failed"
    assert not outside.exists()
