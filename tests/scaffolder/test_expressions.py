"""The expression evaluator: Backstage semantics, filters, and the sandbox's limits."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaffolder.expressions import ExpressionError, evaluate, evaluate_data, render_string

VARS = {
    "parameters": {"name": "svc", "tags": ["a", "b"], "flag": False, "n": 3,
                   "repoUrl": "github.com?owner=acme&repo=svc", "owner": "group:default/team-orders"},
    "steps": {"publish": {"output": {"remoteUrl": "http://git/acme/svc"}}},
}  # fmt: skip


def test_single_expression_keeps_json_type() -> None:
    assert evaluate("${{ parameters.tags }}", VARS) == ["a", "b"]
    assert evaluate("${{ parameters.flag }}", VARS) is False
    assert evaluate("${{ parameters.n }}", VARS) == 3
    assert evaluate("  ${{ parameters.name }}  ", VARS) == "svc"


def test_mixed_text_renders_a_string_as_nunjucks_prints_values() -> None:
    assert evaluate("x-${{ parameters.name }}", VARS) == "x-svc"
    # JavaScript's String(): a list joins with commas (Nunjucks 3.2.4 prints the same).
    assert evaluate("tags ${{ parameters.tags }}", VARS) == "tags a,b"
    assert evaluate("flag ${{ parameters.flag }}", VARS) == "flag false"


def test_steps_output_both_syntaxes_and_js_operators() -> None:
    assert evaluate("${{ steps.publish.output.remoteUrl }}", VARS) == "http://git/acme/svc"
    assert evaluate("${{ steps['publish'].output.remoteUrl }}", VARS) == "http://git/acme/svc"
    assert evaluate("${{ parameters.name === 'svc' }}", VARS) is True
    assert evaluate("${{ parameters.name !== 'svc' }}", VARS) is False
    assert evaluate("${{ parameters.x === null }}", VARS) is True


def test_filters() -> None:
    assert evaluate("${{ parameters.repoUrl | parseRepoUrl }}", VARS) == {
        "host": "github.com", "owner": "acme", "repo": "svc"}  # fmt: skip
    assert evaluate("${{ parameters.repoUrl | projectSlug }}", VARS) == "acme/svc"
    assert evaluate("${{ parameters.owner | parseEntityRef }}", VARS) == {
        "kind": "group", "namespace": "default", "name": "team-orders"}  # fmt: skip
    assert (
        evaluate("${{ 'team-x' | parseEntityRef({'defaultKind': 'group'}) }}", VARS)["kind"]
        == "group"
    )
    assert evaluate("${{ parameters | pick('tags.1') }}", VARS) == "b"


def test_undefined_single_expression_drops_the_key() -> None:
    assert evaluate_data({"a": "${{ parameters.missing }}", "b": "x"}, VARS) == {"b": "x"}


@pytest.mark.parametrize(
    "source",
    [
        "${{ ''.__class__ }}",
        "${{ ''.__class__.__mro__[1].__subclasses__() }}",
        "text ${{ parameters.__class__ }}",
        "${{ range(10000000) | list }}",
        "${{ 'x' * 100000000 }}",
        "${{ [1] * 100000000 }}",
        "${{ 9 ** 9999 }}",
        "{% for a in range(5000) %}{% for b in range(5000) %}{% endfor %}{% endfor %}",
        "${{ foo( }}",
    ],
)
def test_hostile_or_broken_expressions_fail_cleanly_naming_where(source: str) -> None:
    with pytest.raises(ExpressionError) as info:
        evaluate(source, VARS, where="step 'fetch' input.x")
    assert "step 'fetch' input.x" in str(info.value)
    assert "cannot evaluate" in str(info.value)


def test_cookiecutter_mode_blocks_internals() -> None:
    with pytest.raises(ExpressionError):
        render_string("{{ cycler.__init__ }}", {}, cookiecutter=True)
    # In the default ${{ }} mode, plain {{ }} is literal text.
    assert render_string("{{ cycler.__init__ }}", {}) == "{{ cycler.__init__ }}"
    assert (
        render_string("{{ cookiecutter.name }}", {"cookiecutter": {"name": "n"}}, cookiecutter=True)
        == "n"
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text("abcdef", min_size=1, max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_single_expression_roundtrips_any_json_value(value: object) -> None:
    assert evaluate("${{ parameters.v }}", {"parameters": {"v": value}}) == value


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="${}%#"), max_size=50))
def test_text_without_expressions_is_unchanged(text: str) -> None:
    assert evaluate(text, VARS) == text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_expression_text_never_escapes_the_sandbox(body: str) -> None:
    message = ""
    result = None
    try:
        result = evaluate("${{ " + body + " }}", VARS, where="step 'x'")
    except ExpressionError as exc:
        message = str(exc)
    if message:
        assert "step 'x'" in message
    else:
        json.dumps(result)  # whatever comes back is plain JSON data


def test_now_filter_gives_the_current_time_in_milliseconds() -> None:
    import time

    before = int(time.time() * 1000)
    value = int(evaluate("${{ '' | now }}", VARS))
    assert before <= value <= int(time.time() * 1000)
    assert evaluate("branch-${{ '' | now }}", VARS).removeprefix("branch-").isdigit()
