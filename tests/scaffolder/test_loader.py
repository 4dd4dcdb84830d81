"""Template loading: envelope, schema pages, actions and expressions, with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaffolder.loader import TemplateInvalid, load_template_file, load_template_text

CORPUS = Path("/work/shared/corpus/backstage")

GOOD = """\
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: t
  title: T
spec:
  type: service
  parameters:
    - title: Page
      required: [name]
      properties:
        name: {type: string}
  steps:
    - id: log
      action: debug:log
      input:
        message: hi ${{ parameters.name }}
  output:
    links:
      - title: x
        url: http://x/${{ parameters.name }}
"""


def test_good_template_loads_with_pages() -> None:
    template = load_template_text(GOOD, source="t.yaml")
    assert template.ref == "template:default/t"
    assert template.pages[0]["required"] == ["name"]
    assert template.steps[0]["action"] == "debug:log"


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (("action: debug:log", "action: nope:nothing"), 15, "unknown action 'nope:nothing'"),
        (("hi ${{ parameters.name }}", "hi ${{ parameters.name ( }}"), 17, "cannot evaluate"),
        (
            ("apiVersion: scaffolder.backstage.io/v1beta3", "apiVersion: backstage.io/v1alpha1"),
            1,
            "apiVersion",
        ),
        (("name: {type: string}", "name: {type: strang}"), 12, "invalid JSON Schema"),
        (("  type: service\n", ""), 6, "spec.type is required"),
        (
            ("- id: log", "- id: log\n    - id: log\n      action: debug:log"),
            15,
            "id is used twice",
        ),
    ],
)
def test_problems_name_file_and_line(change: tuple[str, str], line: int, message: str) -> None:
    with pytest.raises(TemplateInvalid) as info:
        load_template_text(GOOD.replace(*change), source="t.yaml")
    text = str(info.value)
    assert message in text
    assert f"t.yaml:{line}:" in text, text


def test_yaml_syntax_error_has_a_line() -> None:
    with pytest.raises(TemplateInvalid, match=r"t.yaml:3: not valid YAML"):
        load_template_text("a: 1\nb: [\n  c: d: e\n", source="t.yaml")


def test_corpus_templates_load_except_actions_paved_cannot_serve() -> None:
    verdicts = {}
    for path in sorted(CORPUS.rglob("template.yaml")):
        try:
            load_template_file(path)
            verdicts[path.parent.name] = "ok"
        except TemplateInvalid as exc:
            verdicts[path.parent.name] = str(exc)
    assert verdicts["docs-template"] == "ok"
    assert verdicts["conditional-parameters-demo"] == "ok"
    assert verdicts["create-react-app"] == "ok"
    assert "action 'fetch:rails' is not available in Paved" in verdicts["rails-demo"]
    assert "use fetch:template" in verdicts["rails-demo"]
    assert "rails-demo/template.yaml:" in verdicts["rails-demo"]
