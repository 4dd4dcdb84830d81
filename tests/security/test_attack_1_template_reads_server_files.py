"""Attack 1: read any file on the worker.

As found: register a Template from a repository, let `catalog:register` on a non-default branch
upsert a Template entity that carries `paved.dev/template-dir: /` (the bridge wrote Entity rows
directly), then run it with `fetch:plain:file` of `./etc/passwd` and `publish:git` into the
attacker's own repository. Now: the branch is registered through the catalog like any location,
the annotation is dropped, the template waits for approval, and no catalog document can name a
folder on the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from catalog.models import Location
from runs.models import Run, RunLogLine, RunStatus, Step
from scaffolder.services import version_for_entity
from tests.conftest import wait_for
from tests.security.conftest import (
    commits,
    entity,
    last_run,
    push,
    register,
    start_in_wizard,
    template_doc,
)

GRAB = template_doc(
    "grab-files",
    [
        {"id": "grab", "action": "fetch:plain:file",
         "input": {"url": "./etc/passwd", "targetPath": "stolen.txt"}},
        {"id": "out", "action": "publish:git",
         "input": {"repoUrl": "localhost?owner=team-payments&repo=loot"}},
    ],
    **{"paved.dev/template-dir": "/", "backstage.io/managed-by-location": "file:/etc/passwd"},
)  # fmt: skip

REGISTRAR = template_doc(
    "registrar",
    [{"id": "reg", "action": "catalog:register",
      "input": {"catalogInfoUrl": "http://git/team-payments/tools/blob/side/catalog-info.yaml"}}],
)  # fmt: skip


def _finished(run: Run) -> Run:
    return wait_for(lambda: (r := Run.objects.get(pk=run.pk)).is_finished and r, timeout=60)


@pytest.mark.django_db(transaction=True)
def test_attack_1_a_template_cannot_name_a_server_folder_and_read_its_files(
    embedded: Path,
    attacker: User,
    attacker_client: Client,
    admin_client: Client,
    celery_worker: Any,
) -> None:
    push("team-payments", "tools", {"catalog-info.yaml": GRAB}, branch="side")
    push("team-payments", "registrar", {"catalog-info.yaml": REGISTRAR})
    assert register(attacker_client, "team-payments/registrar").status_code == 302

    # The attacker may try their own (unapproved) template: its catalog:register step registers
    # the side branch through the catalog, as the attacker.
    start_in_wizard(attacker_client, "template:default/registrar")
    registrar_run = _finished(last_run())
    assert registrar_run.status == RunStatus.SUCCEEDED, registrar_run.error

    grab = entity("template:default/grab-files")
    assert grab is not None
    assert grab.location is not None
    assert grab.location.target == "team-payments/tools/catalog-info.yaml#side"
    assert not grab.location.is_approved
    annotations = grab.metadata["annotations"]
    assert "paved.dev/template-dir" not in annotations  # dropped: only Paved writes it
    assert annotations["backstage.io/managed-by-location"].startswith("repo:")
    assert version_for_entity(grab).base_dir == ""  # no folder on this server

    # Nobody else is offered it — a platform admin included.
    assert admin_client.get("/create/default/grab-files/").status_code == 404
    assert "grab-files" not in admin_client.get("/create/").content.decode()

    # The attacker runs it: the relative url has no folder to read from.
    start_in_wizard(attacker_client, "template:default/grab-files")
    run = _finished(last_run())
    assert run.status == RunStatus.FAILED
    failed = Step.objects.get(run=run, key="grab")
    assert failed.status == "failed"
    assert "has no folder on the server" in failed.error
    # Nothing was read, nothing was published.
    assert commits("team-payments", "loot") == []
    passwd = Path("/etc/passwd").read_text().splitlines()[0]
    assert not RunLogLine.objects.filter(message__contains=passwd).exists()
    assert not Step.objects.filter(outputs__icontains="root:").exists()


@pytest.mark.django_db
def test_a_location_less_template_with_the_annotation_names_no_folder(embedded: Path) -> None:
    """Rows written before this rule (the old bridge) keep no power: only a publication row
    that save_template writes names a folder."""
    from catalog.models import Entity

    orphan = Entity.objects.create(
        kind="Template", name="legacy", api_version="scaffolder.backstage.io/v1beta3",
        metadata={"name": "legacy", "annotations": {"paved.dev/template-dir": "/"}},
        spec={"type": "service", "steps": [{"id": "d", "action": "debug:log",
                                             "input": {"message": "hi"}}]},
    )  # fmt: skip
    assert version_for_entity(orphan).base_dir == ""
    assert not Location.objects.exists()
