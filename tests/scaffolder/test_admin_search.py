"""Templates in admin (platform team edits create versions), global search and the home page."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from catalog.models import Entity
from scaffolder.demo import load_builtin_templates
from scaffolder.models import TemplateVersion

pytestmark = pytest.mark.django_db

DOCS_SITE = Path("scaffolder/templates_builtin/docs-site")


def test_admin_add_validates_and_saves_a_version(client: Client, platform_admin: User) -> None:
    client.force_login(platform_admin)
    text = (DOCS_SITE / "template.yaml").read_text()
    bad = client.post(
        "/admin/scaffolder/templateversion/add/",
        {"yaml_text": text.replace("publish:git", "publish:nope"), "base_dir": ""},
    )
    assert bad.status_code == 200
    assert "unknown action &#x27;publish:nope&#x27;" in bad.content.decode()
    assert not TemplateVersion.objects.exists()
    good = client.post(
        "/admin/scaffolder/templateversion/add/",
        {"yaml_text": text, "base_dir": str(DOCS_SITE.resolve())},
    )
    assert good.status_code == 302
    version = TemplateVersion.objects.get()
    assert version.ref == "template:default/docs-site"
    assert version.version == 1
    assert version.created_by == platform_admin
    assert Entity.objects.get(ref="template:default/docs-site").metadata["annotations"][
        "paved.dev/template-dir"
    ] == str(DOCS_SITE.resolve())
    # Editing makes a new version; the old one stays for the runs that used it.
    changed = client.post(
        f"/admin/scaffolder/templateversion/{version.pk}/change/",
        {
            "yaml_text": text.replace("Static documentation site", "Docs"),
            "base_dir": str(DOCS_SITE.resolve()),
        },
    )
    assert changed.status_code == 302
    assert list(TemplateVersion.objects.order_by("version").values_list("version", flat=True)) == [
        1,
        2,
    ]
    assert Entity.objects.get(ref="template:default/docs-site").title == "Docs"


def test_admin_is_for_staff_only(owner_client: Client) -> None:
    assert owner_client.get("/admin/scaffolder/templateversion/add/").status_code == 302


def test_global_search_finds_templates(owner_client: Client) -> None:
    load_builtin_templates()
    page = owner_client.get("/search/?q=fastapi").content.decode()
    assert "Python service (FastAPI)" in page
    assert "/create/default/python-service/" in page


def test_home_shows_recommended_templates(owner_client: Client) -> None:
    load_builtin_templates()
    page = owner_client.get("/").content.decode()
    assert "Start something new" in page
    assert "/create/default/python-service/" in page


def test_load_demo_data_loads_the_templates_idempotently() -> None:
    from django.core.management import call_command

    call_command("load_demo_data")
    call_command("load_demo_data")
    refs = set(Entity.objects.filter(kind__iexact="template").values_list("ref", flat=True))
    assert {"template:default/python-service", "template:default/docs-site"} <= refs
    assert TemplateVersion.objects.filter(ref="template:default/python-service").count() == 1
