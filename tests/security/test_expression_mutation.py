"""Expressions that change values: `${{ parameters.tags.pop(5) }}` was an uncaught traceback and
`pop(0)` changed the run's values for every later step. Values are read-only: a mutating method
is refused with a clear message and the values stay as they were."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from runs.models import Run, RunStatus, StepStatus
from scaffolder.services import save_template, start_template_run
from tests.scaffolder.test_template_runs import drive

pytestmark = pytest.mark.django_db

TAGS = ["a", "b", "c"]


def _template(name: str, expression: str, *, when: str = "true") -> str:
    return f"""
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {{name: {name}}}
spec:
  owner: group:default/team-orders
  type: service
  parameters:
    - title: First
      properties:
        tags: {{type: array, items: {{type: string}}}}
        labels: {{type: object}}
    - title: Second
      when: {json.dumps(when)}
      properties:
        other: {{type: string}}
  steps:
    - id: change
      action: debug:log
      input:
        message: {json.dumps(expression)}
    - id: after
      action: debug:log
      input:
        message: "${{{{ parameters.tags | join(',') }}}}"
"""


@pytest.mark.parametrize(
    ("expression", "method"),
    [
        ("${{ parameters.tags.pop(5) }}", "list.pop()"),
        ("${{ parameters.tags.pop(0) }}", "list.pop()"),
        ("${{ parameters.tags.append('x') }}", "list.append()"),
        ("${{ parameters.tags.extend(['x']) }}", "list.extend()"),
        ("${{ parameters.tags.insert(0, 'x') }}", "list.insert()"),
        ("${{ parameters.tags.remove('a') }}", "list.remove()"),
        ("${{ parameters.tags.clear() }}", "list.clear()"),
        ("${{ parameters.tags.sort() }}", "list.sort()"),
        ("${{ parameters.tags.reverse() }}", "list.reverse()"),
        ("${{ parameters.labels.update({'k': 'v'}) }}", "dict.update()"),
        ("${{ parameters.labels.setdefault('k', 'v') }}", "dict.setdefault()"),
        ("${{ parameters.labels.popitem() }}", "dict.popitem()"),
        ("${{ parameters.labels['pop']('team') }}", "dict.pop()"),
    ],
)
def test_mutating_method_fails_the_step_cleanly_and_values_are_unchanged(
    owner: User, platform_admin: User, expression: str, method: str
) -> None:
    version = save_template(yaml_text=_template("mutator", expression), actor=platform_admin)
    values = {"tags": list(TAGS), "labels": {"team": "orders"}}
    run = drive(start_template_run(version=version, values=values, actor=owner))
    assert run.status == RunStatus.FAILED
    step = run.steps.get(key="change")
    assert step.status == StepStatus.FAILED
    assert f"{method} would change a value; expressions may only read values" in step.error
    assert "Traceback" not in step.error
    assert "IndexError" not in step.error
    run.refresh_from_db()
    assert run.inputs["tags"] == TAGS
    assert run.inputs["labels"] == {"team": "orders"}
    assert run.steps.get(key="after").status != StepStatus.SUCCEEDED


def test_pop_in_a_page_when_changes_nothing_in_the_wizard(
    owner_client: Client, platform_admin: User
) -> None:
    save_template(
        yaml_text=_template("when-pop", "hello", when="${{ parameters.tags.pop(0) }}"),
        actor=platform_admin,
    )
    state = json.dumps({"tags": TAGS})
    response = owner_client.post(
        "/create/default/when-pop/",
        {"state": state, "page": "0", "action": "review"},
    )
    assert response.status_code == 200
    # The page's `when` failed (so the page is hidden); the values the wizard carries are intact.
    assert json.loads(response.context["state"])["tags"] == TAGS
    assert not Run.objects.exists()
