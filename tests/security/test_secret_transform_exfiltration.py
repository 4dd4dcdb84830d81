"""Secret exfiltration by transform: an attacker's template has a platform admin type a password
into a `ui:field: Secret` field, and a step prints `${{ secrets.pw | list | join }}` (or
`| reverse`, a slice, a comparison…): exact-string masking does not recognise the transformed
copy, and the attacker reads it on the run page. A secret may only flow unchanged, as the whole
value of a step input; anything else is refused when the template is saved or first used."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from catalog.ingestion import REPO, Target
from catalog.models import Entity
from catalog.services import refresh_location, register_location
from portal.lib.redaction import MASK
from runs.models import Run, RunLogLine, RunStatus, Step
from scaffolder.loader import TemplateInvalid
from scaffolder.models import TemplateVersion
from scaffolder.services import save_template, start_template_run
from tests.catalog.conftest import local_git as local_git_host
from tests.catalog.helpers import push_repo
from tests.scaffolder.test_template_runs import drive

pytestmark = pytest.mark.django_db

PASSWORD = "Tr0ub4dor&3-horse"


def _template(name: str, *, message: str = "${{ secrets.pw }}", extra: str = "") -> str:
    return f"""
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {{name: {name}}}
spec:
  owner: group:default/team-orders
  type: service
  parameters:
    - title: Credentials
      required: [pw]
      properties:
        name: {{type: string}}
        pw: {{type: string, title: Password, "ui:field": Secret}}
  steps:
    - id: print
      action: debug:log
      input:
        message: {json.dumps(message)}
{extra}"""


TRANSFORMS = [
    ("${{ secrets.pw | list | join }}", "not through the filter `list`"),
    ("${{ secrets.pw | reverse }}", "not through the filter `reverse`"),
    ("${{ secrets['pw'] | join(' ') }}", "not through the filter `join`"),
    ("${{ secrets.pw[::-1] }}", "not through a subscript or slice of it"),
    ("${{ secrets.pw[0] }}", "not through a subscript or slice of it"),
    ("${{ secrets.pw.upper() }}", "not through an attribute or method of it"),
    ("${{ secrets.pw ~ '' }}", "not through joining it with `~`"),
    ("${{ secrets.pw + 'x' }}", "not through an operator"),
    ("${{ secrets.pw == 'guess' }}", "not through a comparison"),
    ("${{ 'yes' if secrets.pw else 'no' }}", "not through a condition"),
    ("pw=${{ secrets.pw }}", "not through text around it"),
    ("{% for c in secrets.pw %}${{ c }} {% endfor %}", "not through a loop"),
    ("{% set p = secrets.pw %}${{ p | reverse }}", "not through a variable"),
    ("${{ parameters.pw | reverse }}", "parameters.pw is a secret"),
    ("${{ secrets | dump }}", "`secrets` holds the values of the secret fields"),
    ("${{ parameters | dump }}", "`parameters` holds secret fields in this template"),
    ("${{ parameters[parameters.name] | reverse }}", "`parameters` holds secret fields"),
]


@pytest.mark.parametrize(("message", "why"), TRANSFORMS)
def test_saving_a_template_that_transforms_a_secret_is_refused(
    platform_admin: User, message: str, why: str
) -> None:
    with pytest.raises(TemplateInvalid) as info:
        save_template(yaml_text=_template("exfil", message=message), actor=platform_admin)
    text = str(info.value)
    assert "step 'print' input.message" in text
    assert why in text
    assert not Entity.objects.filter(name="exfil").exists()
    assert not TemplateVersion.objects.exists()


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        (
            "      if: ${{ secrets.pw == 'guess' }}\n",
            "step 'print' if: secrets.pw is a secret; it cannot be used here",
        ),
        ("      each: ${{ secrets.pw }}\n", "step 'print' each: secrets.pw is a secret"),
        (
            "  output:\n    links:\n      - {title: x, url: 'https://x.test/${{ secrets.pw }}'}\n",
            "output.links[0].url: secrets.pw is a secret",
        ),
        (
            "    - id: render\n      action: fetch:template\n"
            "      input: {url: ./skeleton, values: {pw: '${{ secrets.pw }}'}}\n",
            "input.values.pw: secrets.pw is a secret; it cannot be passed to fetch:template",
        ),
    ],
    ids=["if", "each", "output", "fetch-template-values"],
)
def test_a_secret_in_if_each_output_or_a_skeleton_is_refused(
    platform_admin: User, extra: str, where: str
) -> None:
    with pytest.raises(TemplateInvalid) as info:
        save_template(yaml_text=_template("exfil", extra=extra), actor=platform_admin)
    assert where in str(info.value)
    assert not TemplateVersion.objects.exists()


def test_the_admin_form_refuses_it(client: Client, platform_admin: User) -> None:
    client.force_login(platform_admin)
    response = client.post(
        "/admin/scaffolder/templateversion/add/",
        {"yaml_text": _template("exfil", message="${{ secrets.pw | reverse }}"), "base_dir": ""},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "not through the filter `reverse`" in response.content.decode()
    assert not TemplateVersion.objects.exists()


local_git = local_git_host  # the catalog tests' local git host fixture


def test_a_template_registered_from_a_repository_cannot_be_used(
    local_git: Any, owner_client: Client
) -> None:
    yaml_text = _template("exfil-repo", message="${{ secrets.pw | list | join }}")
    push_repo(local_git, "acme", "exfil", {"catalog-info.yaml": yaml_text.encode()})
    refresh_location(location=register_location(target=Target(REPO, "acme/exfil"), actor=None))
    assert Entity.objects.filter(ref="template:default/exfil-repo").exists()
    response = owner_client.get("/create/default/exfil-repo/")
    assert response.status_code == 422
    assert "not through the filter `list`" in response.content.decode()
    response = owner_client.post(
        "/create/default/exfil-repo/",
        {"state": json.dumps({"pw": PASSWORD}), "page": "0", "action": "create"},
    )
    assert response.status_code == 422
    assert not Run.objects.exists()
    assert not TemplateVersion.objects.exists()
    assert not RunLogLine.objects.exists()


def test_the_bare_secret_still_reaches_the_step_and_nothing_shows_it(
    owner: User, platform_admin: User
) -> None:
    version = save_template(yaml_text=_template("bare"), actor=platform_admin)
    run = drive(
        start_template_run(version=version, values={"name": "n", "pw": PASSWORD}, actor=owner)
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    lines = list(RunLogLine.objects.filter(run=run).values_list("message", flat=True))
    assert MASK in lines  # the step got the value: its log line is the masked password
    written = "\n".join(
        lines
        + [json.dumps(run.inputs), json.dumps(run.outputs)]
        + [json.dumps(s.resolved_inputs) + s.error for s in Step.objects.filter(run=run)]
    )
    for shape in (PASSWORD, PASSWORD[::-1], "".join(sorted(PASSWORD)), " ".join(PASSWORD)):
        assert shape not in written
