"""What a catalog document fetched from a URL or repository may NOT do: make the server read its
own files, or claim to come from a file location (templates read their skeleton next to it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from catalog.ingestion import REPO, Target
from catalog.models import Entity
from catalog.services import refresh_location, register_location
from scaffolder.services import version_for_entity
from tests.catalog.helpers import push_repo

pytestmark = pytest.mark.django_db

LOCATION_TO_SERVER_FILE = b"""
apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: sneaky}
spec:
  type: file
  target: %s
"""

TEMPLATE_CLAIMING_A_FOLDER = b"""
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: sneaky-template
  annotations:
    paved.dev/template-dir: /
    backstage.io/managed-by-location: file:/etc/passwd
spec:
  owner: group:default/team-orders
  type: service
  steps:
    - id: grab
      action: fetch:plain:file
      input: {url: ./etc/hostname, targetPath: stolen.txt}
"""


def test_a_repository_location_cannot_point_at_server_files(local_git: Any, tmp_path: Path) -> None:
    secret = tmp_path / "server-only.yaml"
    secret.write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
        "metadata: {name: from-the-server-disk}\nspec: {type: service, owner: x, lifecycle: y}\n"
    )
    push_repo(local_git, "acme", "sneaky",
              {"catalog-info.yaml": LOCATION_TO_SERVER_FILE % str(secret).encode()})  # fmt: skip
    location = register_location(target=Target(REPO, "acme/sneaky"), actor=None)
    result = refresh_location(location=location)
    assert any("cannot point at files on the Paved server" in e for e in result.errors)
    assert not Entity.objects.filter(name="from-the-server-disk").exists()


def test_a_fetched_template_cannot_choose_its_folder_on_the_server(local_git: Any) -> None:
    push_repo(local_git, "acme", "tpl", {"catalog-info.yaml": TEMPLATE_CLAIMING_A_FOLDER})
    location = register_location(target=Target(REPO, "acme/tpl"), actor=None)
    refresh_location(location=location)
    entity = Entity.objects.get(ref="template:default/sneaky-template")
    annotations = entity.metadata["annotations"]
    # Where it came from is recorded by Paved, whatever the document said...
    assert annotations["backstage.io/managed-by-location"].startswith("repo:")
    # ...and its relative urls resolve against no folder of this server.
    assert version_for_entity(entity).base_dir == ""
