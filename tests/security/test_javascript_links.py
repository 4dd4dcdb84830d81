"""`javascript:`, `data:` and `vbscript:` links: refused in catalog documents and template
outputs, and never rendered as an href (defence in depth beside the CSP)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.test import Client, override_settings

from catalog.graph import entity_url as entity_page
from catalog.models import Entity, Location
from runs.models import Run, StepStatus
from runs.runner import advance_run, execute_step
from scaffolder.loader import TemplateInvalid
from scaffolder.models import TemplateVersion
from scaffolder.services import save_template, start_template_run

pytestmark = pytest.mark.django_db

EVIL_URLS = [
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
]


def _hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


@pytest.fixture
def local_git(tmp_path: Path, settings: Any) -> Any:
    from portal.providers import git_host

    settings.PAVED_GIT_PROVIDER = "local"
    settings.PAVED_GIT_LOCAL_ROOT = str(tmp_path / "git")
    return git_host()


def _component_with_links(urls: list[str]) -> bytes:
    doc = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": "linky",
            "links": [{"url": u, "title": f"link {i}"} for i, u in enumerate(urls)],
        },
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-orders"},
    }
    return yaml.safe_dump(doc).encode()


def test_javascript_link_in_a_catalog_document_is_refused_on_registration(
    owner_client: Client, local_git: Any
) -> None:
    repo, _ = local_git.ensure_repository("team-orders", "linky")
    local_git.commit_files(repo, {"catalog-info.yaml": _component_with_links(EVIL_URLS)},
                           message="links")  # fmt: skip
    preview = owner_client.post("/catalog/register/", {"location": "team-orders/linky"})
    page = preview.content.decode()
    assert "invalid" in page
    for i in range(len(EVIL_URLS)):
        assert f"metadata.links.{i}.url" in page
    assert "a link must be an http, https or mailto URL, not javascript:" in page
    assert "not data:" in page
    assert "not vbscript:" in page
    owner_client.post("/catalog/register/", {"location": "team-orders/linky", "action": "confirm"})
    # The location is recorded, but the document is not ingested: only a placeholder carrying
    # the errors (as for any invalid document), with none of its links.
    assert Location.objects.count() == 1
    entity = Entity.objects.get(name="linky")
    assert entity.links == []
    assert "javascript" not in str(entity.metadata)
    assert any("not javascript:" in e for e in entity.processing_errors)
    assert "javascript:" not in "".join(
        _hrefs(owner_client.get(entity_page(entity.ref)).content.decode())
    )


def test_a_javascript_link_stored_earlier_is_never_rendered_as_a_link(
    owner_client: Client,
) -> None:
    Entity.objects.create(
        kind="Component",
        name="legacy",
        metadata={
            "name": "legacy",
            "links": [{"url": u, "title": f"evil {i}"} for i, u in enumerate(EVIL_URLS)]
            + [{"url": "https://docs.example.com/legacy", "title": "Docs"}],
        },
        spec={"type": "service", "owner": "team-orders", "lifecycle": "production"},
    )
    page = owner_client.get("/catalog/default/component/legacy/").content.decode()
    assert "evil 0" in page
    assert "Docs" in page
    hrefs = _hrefs(page)
    assert "https://docs.example.com/legacy" in hrefs  # ...safe links still links...
    for href in hrefs:  # ...and no other scheme ever becomes an href
        assert not re.match(r"\s*(java|data:|vbscript)", href, flags=re.I), href


TEMPLATE = """\
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: linky-template}
spec:
  type: service
  parameters:
    - properties:
        homepage: {type: string}
  steps:
    - id: hello
      action: debug:log
      input: {message: hi}
  output:
    links:
      - title: Home
        url: %s
      - title: Docs
        url: https://docs.example.com/
"""


@pytest.mark.parametrize("url", EVIL_URLS[:2] + EVIL_URLS[4:])
def test_template_with_a_literal_javascript_output_link_is_refused(url: str) -> None:
    with pytest.raises(TemplateInvalid) as info:
        save_template(yaml_text=TEMPLATE % yaml.safe_dump(url).split("\n")[0], actor=None)
    assert "output.links[0].url" in str(info.value)
    assert "a link must be an http, https or mailto URL" in str(info.value)
    assert not Entity.objects.filter(kind="Template").exists()
    assert not TemplateVersion.objects.exists()


@override_settings(
    PAVED_GIT_PROVIDER="test", PAVED_DEPLOY_PROVIDER="test", PAVED_CLUSTER_PROVIDER="test"
)
def test_javascript_output_link_from_a_typed_value_never_reaches_the_run_page(
    owner: User, client: Client
) -> None:
    version = save_template(yaml_text=TEMPLATE % "${{ parameters.homepage }}", actor=None)
    run = start_template_run(
        version=version, values={"homepage": "javascript:alert(document.cookie)"}, actor=owner
    )
    for _ in range(10):  # the real engine, in this process, as a worker runs it
        advance_run(run.pk)
        run.refresh_from_db()
        if run.is_finished:
            break
        step = run.steps.filter(status=StepStatus.PENDING).order_by("position").first()
        assert step is not None
        execute_step(step.pk)
    run = Run.objects.get(pk=run.pk)
    assert run.is_finished
    assert [link["url"] for link in run.outputs["links"]] == ["https://docs.example.com/"]
    client.force_login(owner)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert "javascript:" not in page
    assert "https://docs.example.com/" in _hrefs(page)
