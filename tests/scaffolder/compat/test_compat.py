"""Public Backstage templates run through `scaffold dry-run`; every rendered file compared byte
for byte with what real Nunjucks 3.2.4, configured as Backstage's SecureTemplater, writes for
the same resolved inputs (expected/, made by oracle/render.js; see README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from scaffolder.expressions import ExpressionError, render_string
from tests.scaffolder.compat.corpus import EXPECTED, HERE, Outcome, run, template_paths

EXPECTED_FAILURES: dict[str, str] = yaml.safe_load(
    (HERE / "expected_failures.yaml").read_text(encoding="utf-8")
)
# Templates that complete but whose files Nunjucks does not write, so there is nothing to compare
# them with; each with the reason. (They still count as completing.)
NOT_NUNJUCKS: dict[str, str] = {
    "backstage-software-templates--scaffolder-templates--docs-template-cookiecutter": (
        "its only step is fetch:cookiecutter: the real cookiecutter package renders it in Paved "
        "as in Backstage (tests/scaffolder/test_backstage_compat.py checks its output)"
    ),
}


def _expected_files(template_id: str) -> dict[str, bytes]:
    root = EXPECTED / template_id
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _compare(outcome: Outcome) -> tuple[int, list[str]]:
    expected = _expected_files(outcome.template_id)
    problems = []
    for rel in sorted(set(expected) | set(outcome.files)):
        if rel not in outcome.files:
            problems.append(f"{outcome.template_id}: {rel} missing (Nunjucks writes it)")
        elif rel not in expected:
            problems.append(f"{outcome.template_id}: {rel} written (Nunjucks skips it)")
        elif outcome.files[rel] != expected[rel]:
            problems.append(f"{outcome.template_id}: {rel} differs")
    return len(expected), problems


def test_public_templates_render_byte_for_byte_as_nunjucks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    templates = template_paths()
    completed = 0
    files = 0
    problems: list[str] = []
    for template_id, path in templates:
        outcome = run(template_id, path)
        if outcome.status != "completed":
            if template_id not in EXPECTED_FAILURES:
                problems.append(f"{template_id}: {outcome.status}: {outcome.error}")
            continue
        completed += 1
        if template_id in EXPECTED_FAILURES:
            print(f"now completes (remove it from expected_failures.yaml): {template_id}")
        if template_id in NOT_NUNJUCKS:
            continue
        count, mismatches = _compare(outcome)
        files += count
        problems.extend(mismatches)
    matched = files - sum(1 for p in problems if p.endswith(("differs", "(Nunjucks writes it)")))
    with capsys.disabled():
        print(
            f"\nBackstage compatibility: {completed} of {len(templates)} public templates "
            f"complete; {matched} of {files} rendered files match Nunjucks 3.2.4 byte for byte; "
            f"{len(EXPECTED_FAILURES)} expected failures named by cause"
        )
    assert not problems, "\n".join(problems)
    assert completed + len(EXPECTED_FAILURES) == len(templates)


def _expression_cases() -> list[dict[str, object]]:
    return list(json.loads((HERE / "expressions.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize("case", _expression_cases(), ids=lambda c: str(c["id"]))
def test_expression_renders_as_nunjucks(case: dict[str, object]) -> None:
    expected = json.loads((EXPECTED / "expressions.json").read_text(encoding="utf-8"))
    want = expected[case["id"]]
    try:
        got = render_string(
            str(case["template"]),
            dict(case.get("context") or {}),  # type: ignore[call-overload]
            cookiecutter=bool(case.get("cookiecutterCompat")),
            trim_blocks=bool(case.get("trimBlocks")),
            lstrip_blocks=bool(case.get("lstripBlocks")),
        )
    except ExpressionError as exc:
        pytest.fail(f"Nunjucks renders {want!r}; Paved raised {exc}")
    assert "error" not in want, f"Nunjucks fails with {want['error']}; Paved rendered {got!r}"
    assert got == want["output"]


def test_expected_files_come_from_the_oracle() -> None:
    # Every completing template has a folder the oracle wrote; nothing stale is kept.
    ids = {template_id for template_id, _ in template_paths()}
    folders = {p.name for p in Path(EXPECTED).iterdir() if p.is_dir()}
    assert folders <= ids
