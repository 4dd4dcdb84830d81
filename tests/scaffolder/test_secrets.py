"""Secret fields (Backstage's `ui:field: Secret`, SecretInput, password widgets): the value
reaches the steps but never Run.inputs, logs, step records, audit records, outputs or pages."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.utils import timezone

from portal.lib.redaction import MASK
from portal.lib.sealing import SealBroken, seal, unseal
from portal.models import AuditEvent
from runs.models import Run, RunLogLine, RunSecret, RunStatus, Step
from runs.runner import RunStateError, retry_run
from runs.secrets import purge_expired_run_secrets
from scaffolder.services import save_template, start_template_run
from tests.scaffolder.test_template_runs import drive

pytestmark = [pytest.mark.django_db]

TOKEN = "s3cr3t-deploy-token-6f1c"
PASSWORD = "hunter2-but-longer"

TEMPLATE = """
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: with-secrets, title: With secrets}
spec:
  owner: group:default/team-orders
  type: service
  parameters:
    - title: Access
      required: [name, token]
      properties:
        name: {type: string, title: Name}
        token: {type: string, title: Deploy token, "ui:field": Secret}
        password: {type: string, title: Password, "ui:widget": password}
  steps:
    - id: use
      name: Use the token
      action: debug:log
      input:
        message: ${{ secrets.token }}
    - id: use-password
      name: Use the password
      action: debug:log
      input:
        message: ${{ parameters.password }}
    - id: again
      name: Fail when asked
      action: debug:log
      if: ${{ parameters.name == 'boom' }}
      input:
        message: ${{ parameters.name | nosuchfilter }}
  output:
    text:
      - title: Done
        content: "made ${{ parameters.name }}"
"""


@pytest.fixture
def template_version(platform_admin: User) -> Any:
    return save_template(yaml_text=TEMPLATE, actor=platform_admin)


def everything_written(run: Run) -> str:
    """Every place a run leaves text behind, as one string."""
    run.refresh_from_db()
    parts = [json.dumps(run.inputs), json.dumps(run.context), json.dumps(run.outputs), run.error]
    for step in Step.objects.filter(run=run):
        parts += [json.dumps(step.resolved_inputs), json.dumps(step.outputs), step.error]
    parts += list(RunLogLine.objects.filter(run=run).values_list("message", flat=True))
    for event in AuditEvent.objects.all():
        parts += [json.dumps(event.before), json.dumps(event.after), event.summary]
    parts += list(RunSecret.objects.values_list("sealed", flat=True))
    return "\n".join(parts)


def test_seal_round_trip_tamper_and_key_rotation() -> None:
    token = seal({"a": TOKEN})
    assert TOKEN not in token
    assert unseal(token) == {"a": TOKEN}
    with pytest.raises(SealBroken):
        unseal(token[:-4] + "AAAA")
    with (
        override_settings(SECRET_KEY="a-new-key-" * 5, SECRET_KEY_FALLBACKS=[]),
        pytest.raises(SealBroken),
    ):
        unseal(token)
    from django.conf import settings

    with override_settings(SECRET_KEY="a-new-key-" * 5, SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]):
        assert unseal(token) == {"a": TOKEN}


def test_steps_get_the_secret_but_nothing_stores_it(owner: User, template_version: Any) -> None:
    values = {"name": "orders", "token": TOKEN, "password": PASSWORD}
    run = start_template_run(version=template_version, values=values, actor=owner)
    assert run.inputs == {"name": "orders", "token": MASK, "password": MASK}
    assert run.context["secret_fields"] == ["password", "token"]
    assert RunSecret.objects.filter(run=run).exists()
    run = drive(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    # The step really received the values: its log line exists, masked.
    log = "\n".join(RunLogLine.objects.filter(run=run).values_list("message", flat=True))
    assert log.count(MASK) == 2, log
    assert run.outputs["text"][0]["content"] == "made orders"
    text = everything_written(run)
    assert TOKEN not in text
    assert PASSWORD not in text
    # A succeeded run needs its secrets no more.
    assert not RunSecret.objects.filter(run=run).exists()


def test_a_failed_run_keeps_sealed_secrets_for_its_retry_until_purged(
    owner: User, template_version: Any
) -> None:
    values = {"name": "boom", "token": TOKEN}
    run = drive(start_template_run(version=template_version, values=values, actor=owner))
    assert run.status == RunStatus.FAILED
    assert "nosuchfilter" in run.error
    assert TOKEN not in everything_written(run)
    assert RunSecret.objects.filter(run=run).exists()
    # Retry: the first step runs again with the real value.
    retry_run(run, actor=owner, from_step="use")
    run = drive(run)
    assert run.status == RunStatus.FAILED
    assert RunLogLine.objects.filter(run=run, message__contains=MASK).count() == 2
    # After the retention the secrets go, and a retry explains why it cannot run.
    assert purge_expired_run_secrets() == 0
    Run.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(hours=25))
    assert purge_expired_run_secrets() == 1
    with pytest.raises(RunStateError, match=r"secret fields were discarded .*token"):
        retry_run(run, actor=owner, from_step="use")


def test_cancelling_discards_the_secrets(owner: User, template_version: Any) -> None:
    from runs.runner import cancel_run

    run = start_template_run(
        version=template_version, values={"name": "x1", "token": TOKEN}, actor=owner
    )
    cancel_run(run, actor=owner)
    assert not RunSecret.objects.filter(run=run).exists()


def test_the_wizard_never_puts_a_secret_in_the_page(
    owner_client: Client, template_version: Any
) -> None:
    url = "/create/default/with-secrets/"
    response = owner_client.post(
        url,
        {"state": "{}", "page": "0", "action": "next", "name": "orders", "token": TOKEN,
         "password": PASSWORD},
    )  # fmt: skip
    assert response.status_code == 200
    page = response.content.decode()
    assert "Review" in page
    assert TOKEN not in page
    assert PASSWORD not in page
    state = response.context["state"]
    assert TOKEN not in state
    assert "$sealed" in json.loads(state)["token"]
    # Back on the form page the field is empty but the value is kept.
    response = owner_client.post(url, {"state": state, "page": "0", "action": "back"})
    assert TOKEN not in response.content.decode()
    # Creating opens the sealed state: the run gets the real value, stored apart.
    response = owner_client.post(url, {"state": state, "page": "0", "action": "create"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    run = Run.objects.get()
    assert run.inputs["token"] == MASK
    assert TOKEN not in everything_written(run)
    # A tampered sealed value is dropped: the field is required again, no run starts.
    broken = json.loads(state)
    broken["token"] = {"$sealed": "not-a-token"}
    response = owner_client.post(
        url, {"state": json.dumps(broken), "page": "0", "action": "create"}
    )
    assert response.status_code == 422
    assert "token: This field is required." in response.content.decode()
    assert Run.objects.count() == 1


def test_dry_run_report_masks_secret_values(template_version: Any) -> None:
    from pathlib import Path
    from tempfile import TemporaryDirectory

    from scaffolder.dry_run import dry_run
    from scaffolder.services import template_of

    with TemporaryDirectory() as tmp:
        result = dry_run(
            template_of(template_version),
            {"name": "orders", "token": TOKEN, "password": PASSWORD},
            workspace=Path(tmp),
        )
    report = json.dumps(result.as_json())
    assert result.status == "completed"
    assert TOKEN not in report
    assert PASSWORD not in report
    assert report.count(MASK) >= 2  # both steps got their secret, masked in the report
