"""Fuzz the parsers that take outside input: no input may crash them or give a 500.

Malformed input must end in the parser's own clear error (YamlError, TemplateInvalid, a 4xx
answer with a reason), never an unhandled exception."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest
import yaml
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.validation import validate_entity
from catalog.yamlio import YamlError, parse_documents
from scaffolder.loader import TemplateInvalid, load_template_text

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# JSON-like values, and YAML-ish text built from fragments that trip parsers.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
yaml_fragments = st.lists(
    st.sampled_from(
        [
            "apiVersion: backstage.io/v1alpha1\n",
            "kind: Component\n",
            "kind: Template\n",
            "metadata:\n",
            "  name: x\n",
            "  name: 'Bad Name'\n",
            "spec:\n",
            "  type: service\n",
            "  owner: ${{ x }}\n",
            "  steps:\n",
            "    - id: a\n      action: debug:log\n",
            "---\n",
            "key: [unclosed\n",
            "&a x\n",
            "*a\n",
            "a: b\na: c\n",
            "- - -\n",
            "\t\n",
            ": :\n",
            "{",
            "}",
            "!!python/object:os.system x\n",
            "no: off\n",
            "date: 2025-03-14\n",
            "parameters: 7\n",
            "output: {links: 3}\n",
            "\x00",
            "é\n",
        ]
    ),
    max_size=12,
).map("".join)


@FUZZ
@given(text=st.one_of(yaml_fragments, st.text(max_size=300)))
def test_catalog_yaml_and_validation_never_crash(text: str) -> None:
    try:
        documents = parse_documents(text)
    except YamlError as exc:
        message = str(exc)
        documents = []
    else:
        message = "parsed"
    assert message  # a parse error always says what is wrong
    for document in documents:
        verdict = validate_entity(document.data)
        assert isinstance(verdict.errors, list)


@FUZZ
@given(entity=json_values)
def test_catalog_validation_of_any_json_value_never_crashes(entity: Any) -> None:
    verdict = validate_entity(entity)
    if not isinstance(entity, dict):
        assert verdict.errors  # only a mapping can be an entity
    assert all(str(error) for error in verdict.errors)


@FUZZ
@given(text=st.one_of(yaml_fragments, st.text(max_size=300)))
def test_template_loader_rejects_bad_templates_cleanly(text: str) -> None:
    try:
        load_template_text(text, source="fuzz.yaml")
        message = "fuzz.yaml loaded"
    except TemplateInvalid as exc:
        message = str(exc)
    assert "fuzz.yaml" in message  # problems name the file (and line)


@FUZZ
@given(document=json_values)
def test_template_loader_on_any_structure(document: Any) -> None:
    with contextlib.suppress(TemplateInvalid):
        load_template_text(yaml.safe_dump(document), source="fuzz.yaml")


WEBHOOK_SECRETS = {
    "PAVED_GITHUB_WEBHOOK_SECRET": "fuzz-github-secret",
    "PAVED_ARGOCD_WEBHOOK_TOKEN": "fuzz-argo-token",
    "PAVED_OPSGENIE_WEBHOOK_TOKEN": "fuzz-og-token",
    "PAVED_CATALOG_WEBHOOK_SECRET": "fuzz-catalog-secret",
}


def _signed(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.mark.django_db
@FUZZ
@given(
    body=st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200)),
    event=st.sampled_from(["push", "deployment_status", "workflow_run", "pull_request", "issues"]),
)
def test_authenticated_webhooks_and_event_api_never_crash(body: bytes, event: str) -> None:
    """With valid credentials the payload parsers run: any body gets a clear 2xx/4xx answer."""
    from catalog.models import ApiToken
    from catalog.tokens import create_token

    _, token = create_token(
        name=f"fuzz-{uuid.uuid4().hex[:8]}", scope=ApiToken.Scope.METRICS_EVENTS
    )
    client = Client(raise_request_exception=False)
    requests = [
        ("/api/metrics/events", {"Authorization": f"Bearer {token}"}),
        (
            "/hooks/github",
            {
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": uuid.uuid4().hex,
                "X-Hub-Signature-256": _signed("fuzz-github-secret", body),
            },
        ),
        ("/hooks/argocd", {"Authorization": "Bearer fuzz-argo-token"}),
        ("/hooks/opsgenie", {"X-Paved-Token": "fuzz-og-token"}),
        (
            "/catalog/webhooks/push",
            {"X-Hub-Signature-256": _signed("fuzz-catalog-secret", body), "X-GitHub-Event": "push"},
        ),
    ]
    with override_settings(**WEBHOOK_SECRETS):
        for url, headers in requests:
            response = client.post(url, body, content_type="application/json", headers=headers)
            assert response.status_code < 500, (url, response.status_code, body[:80])
            assert response.status_code not in (401, 403), (url, "credentials were valid")


# Pieces of template expressions that loop, multiply, join and format: glued together at random
# they must still finish within the expression time limit, with a value or an ExpressionError.
expression_atoms = st.sampled_from(
    [
        "'x'", "'ab' * 6000", "range(5000)", "range(20000)", "parameters.tags", "[1, 2, 3]",
        "lipsum(5)", "'%0900000d' % 1", "'{:>900000}'.format(1)", "('y' * 9000) | list",
        "parameters.tags * 70000", "10 ** 60", "(9 ** 60) ** 60", "'z'.center(900000)",
    ]
)  # fmt: skip
expression_filters = st.sampled_from(
    ["", " | join", " | list", " | reverse", " | string", " | length", " | replace('x', 'xxxx')",
     " | map('string') | join(',')", " | batch(3) | list", " | dump", " | tojson", " | sort"]
)  # fmt: skip


@st.composite
def hostile_expressions(draw: st.DrawFn) -> str:
    atom = draw(expression_atoms) + draw(expression_filters)
    depth = draw(st.integers(min_value=0, max_value=3))
    body = "${{ " + atom + " }}"
    for level in range(depth):
        body = f"{{% for v{level} in {draw(expression_atoms)} %}}{body}{{% endfor %}}"
    if draw(st.booleans()):
        body = f"{{% set s = {draw(expression_atoms)} %}}{body}${{{{ s ~ s ~ s }}}}"
    return body


@pytest.mark.django_db
@FUZZ
@given(source=hostile_expressions())
def test_random_expressions_never_run_longer_than_the_limit(source: str) -> None:
    from django.conf import settings as django_settings

    from scaffolder.expressions import ExpressionError, evaluate, render_string

    limit = django_settings.PAVED_EXPRESSION_TIMEOUT_MS / 1000
    variables = {"parameters": {"tags": ["a", "b", "c"]}}
    for run in (
        lambda: evaluate(source, variables, where="fuzz"),
        lambda: render_string(source, variables, where="fuzz"),
    ):
        started = time.monotonic()
        with contextlib.suppress(ExpressionError):
            run()
        # The deadline is checked between operations; one operation is bounded by the size limits.
        assert time.monotonic() - started < limit + 0.5, source
