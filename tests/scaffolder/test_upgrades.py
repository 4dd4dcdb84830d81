"""Template upgrades with real git repositories on the local git host: provenance, the
three-way merge delivered as a pull request, repeated upgrades, services already up to date."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from portal.providers import git_host
from runs.models import Run, RunStatus
from scaffolder.models import ServiceProvenance, TemplateUpgrade, UpgradeState
from scaffolder.upgrades.provenance import VERSION_ANNOTATION, version_in_repository
from scaffolder.upgrades.services import UpgradeError, plan_upgrade, start_upgrade
from tests.scaffolder.upgrade_helpers import (
    VERSION_A,
    VERSION_B,
    drive,
    repo,
    scaffold,
    tree,
    write_template,
)

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _local_git(settings: Any, git_root: Path) -> None:
    settings.PAVED_GIT_PROVIDER = "local"


def _team_changes(name: str) -> None:
    """The team edits the README, adds a file, deletes setup.cfg and edits config.yaml."""
    host, ref = git_host(), repo(name)
    files = tree(ref, "main")
    host.commit_files(
        ref,
        {
            "README.md": (files["README.md"] + "\nOwned by the Orders team.\n").encode(),
            "NOTES.md": b"our own notes\n",
            "config.yaml": files["config.yaml"].replace("port: 8000", "port: 8080").encode(),
        },
        message="team changes",
        branch="main",
        delete=["setup.cfg"],
    )


def test_scaffold_records_provenance_in_paved_and_in_catalog_info(
    owner: User, tmp_path: Path
) -> None:
    """A run that creates a repository records template, version hash and values, and its
    catalog-info.yaml names the template and the version."""
    version = write_template(tmp_path / "tpl", VERSION_A)
    provenance = scaffold(version, owner, "orders-api")
    assert provenance.version == version
    assert provenance.template_ref == "template:default/tiny-service"
    assert provenance.owner_ref == "group:default/team-orders"
    assert provenance.values["name"] == "orders-api"
    text = tree(repo("orders-api"), "main")["catalog-info.yaml"]
    assert version_in_repository(text) == (version.ref, version.content_hash)
    assert f'{VERSION_ANNOTATION}: "{version.content_hash}"' in text
    assert "backstage.io/techdocs-ref: dir:." in text  # the rest of the file is untouched


def test_skeleton_change_is_a_new_version_and_the_old_one_renders_as_it_was(
    owner: User, tmp_path: Path
) -> None:
    version_a = write_template(tmp_path / "tpl", VERSION_A)
    version_b = write_template(tmp_path / "tpl", VERSION_B)
    assert (version_a.version, version_b.version) == (1, 2)
    assert version_a.content_hash != version_b.content_hash
    from scaffolder.upgrades.render import render_version

    provenance = ServiceProvenance(
        values={"name": "x", "owner": "o", "repoUrl": "localhost?owner=o&repo=x"}
    )
    assert render_version(version_a, provenance)["app.py"] == b"VERSION = 1\n"
    assert render_version(version_b, provenance)["app.py"] == b"VERSION = 2\n"


def test_upgrade_pull_request_holds_exactly_the_three_way_merge(
    owner: User, tmp_path: Path
) -> None:
    """Team: edited, new and deleted file. Template: changed, new, removed file, and one file
    changed on both sides. The PR has the template's changes, the team's changes survive, the
    conflict is committed with markers and listed."""
    version_a = write_template(tmp_path / "tpl", VERSION_A)
    provenance = scaffold(version_a, owner, "orders-api")
    _team_changes("orders-api")
    version_b = write_template(tmp_path / "tpl", VERSION_B, changelog="Port 9000 and Docker.")

    upgrade = start_upgrade(provenance=provenance, to_version=version_b, actor=owner)
    assert upgrade is not None
    run = drive(Run.objects.get(pk=upgrade.run_pk))
    assert run.status == RunStatus.SUCCEEDED, (run.error, list(run.steps.values("error")))
    upgrade.refresh_from_db()
    assert upgrade.state == UpgradeState.CONFLICTS
    assert upgrade.conflicts == ["config.yaml"]

    ref = repo("orders-api")
    files = tree(ref, upgrade.branch)
    assert sorted(files) == [
        "Dockerfile", "NOTES.md", "README.md", "app.py", "catalog-info.yaml", "config.yaml",
    ]  # fmt: skip
    assert files["app.py"] == "VERSION = 2\n"  # changed by the template
    assert files["Dockerfile"] == "FROM python:3.13-slim\n"  # new in the template
    assert "old.txt" not in files  # removed by the template
    assert "setup.cfg" not in files  # deleted by the team, changed by the template: stays deleted
    assert files["NOTES.md"] == "our own notes\n"  # the team's new file
    assert files["README.md"].endswith("Owned by the Orders team.\n")  # the team's edit
    assert files["config.yaml"].startswith("<<<<<<< ")
    assert "port: 8080" in files["config.yaml"]
    assert "port: 9000" in files["config.yaml"]
    assert version_in_repository(files["catalog-info.yaml"]) == (
        version_b.ref, version_b.content_hash,
    )  # fmt: skip
    assert tree(ref, "main")["app.py"] == "VERSION = 1\n"  # only via the PR

    pulls = git_host().list_pull_requests(ref)  # type: ignore[attr-defined]
    assert len(pulls) == 1
    assert "v1" in pulls[0].body
    assert "v2" in pulls[0].body
    assert "`config.yaml`" in pulls[0].body
    assert "Port 9000 and Docker." in pulls[0].body


def test_repeating_the_upgrade_updates_the_same_pull_request(owner: User, tmp_path: Path) -> None:
    version_a = write_template(tmp_path / "tpl", VERSION_A)
    provenance = scaffold(version_a, owner, "orders-api")
    version_b = write_template(tmp_path / "tpl", VERSION_B)
    first = start_upgrade(provenance=provenance, to_version=version_b, actor=owner)
    assert first is not None
    drive(Run.objects.get(pk=first.run_pk))
    version_c = write_template(tmp_path / "tpl", {**VERSION_B, "app.py": "VERSION = 3\n"})
    second = start_upgrade(provenance=provenance, to_version=version_c, actor=owner)
    assert second is not None
    drive(Run.objects.get(pk=second.run_pk))
    again = start_upgrade(provenance=provenance, to_version=version_c, actor=owner)
    assert again is not None
    assert again.pk == second.pk
    drive(Run.objects.get(pk=again.run_pk))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.pull_number == second.pull_number
    ref = repo("orders-api")
    assert len(git_host().list_pull_requests(ref)) == 1  # type: ignore[attr-defined]
    assert tree(ref, second.branch)["app.py"] == "VERSION = 3\n"


def test_service_already_on_the_new_version_gets_nothing(owner: User, tmp_path: Path) -> None:
    write_template(tmp_path / "tpl", VERSION_A)
    version_b = write_template(tmp_path / "tpl", VERSION_B)
    provenance = scaffold(version_b, owner, "payments-api")
    assert start_upgrade(provenance=provenance, to_version=version_b, actor=owner) is None
    assert not TemplateUpgrade.objects.exists()
    assert git_host().list_pull_requests(repo("payments-api")) == []  # type: ignore[attr-defined]


def test_merged_upgrade_moves_the_service_to_the_new_version(owner: User, tmp_path: Path) -> None:
    version_a = write_template(tmp_path / "tpl", VERSION_A)
    provenance = scaffold(version_a, owner, "orders-api")
    version_b = write_template(tmp_path / "tpl", VERSION_B)
    upgrade = start_upgrade(provenance=provenance, to_version=version_b, actor=owner)
    assert upgrade is not None
    drive(Run.objects.get(pk=upgrade.run_pk))
    upgrade.refresh_from_db()
    assert upgrade.state == UpgradeState.OPEN
    git_host().merge_pull_request(repo("orders-api"), upgrade.pull_number, merged_by="olivia")  # type: ignore[attr-defined]
    from scaffolder.upgrades.services import sync_from_repository

    provenance = sync_from_repository(provenance)
    assert provenance.version == version_b
    upgrade.refresh_from_db()
    assert upgrade.state == UpgradeState.MERGED
    assert start_upgrade(provenance=provenance, to_version=version_b, actor=owner) is None


def test_new_required_parameter_without_default_waits_for_the_owner(
    owner: User, tmp_path: Path
) -> None:
    version_a = write_template(tmp_path / "tpl", VERSION_A)
    provenance = scaffold(version_a, owner, "orders-api")
    extra = "    - title: Where\n      required: [region]\n      properties:\n        region: {type: string, title: Region}\n"
    version_b = write_template(tmp_path / "tpl", VERSION_B, extra=extra)
    upgrade = start_upgrade(provenance=provenance, to_version=version_b, actor=owner)
    assert upgrade is not None
    assert upgrade.state == UpgradeState.WAITING
    assert upgrade.missing == ["region"]
    assert upgrade.run_pk is None
    answered = start_upgrade(
        provenance=provenance, to_version=version_b, actor=owner, answers={"region": "us"}
    )
    assert answered is not None
    assert answered.run_pk is not None
    plan = plan_upgrade(provenance, version_b, {"region": "us"})
    assert "region: us" in plan.files["config.yaml"].decode()


def test_a_developer_of_another_team_cannot_start_an_upgrade(
    owner: User, outsider: User, tmp_path: Path
) -> None:
    version_a = write_template(tmp_path / "tpl", VERSION_A)
    provenance = scaffold(version_a, owner, "orders-api")
    version_b = write_template(tmp_path / "tpl", VERSION_B)
    with pytest.raises(UpgradeError, match="may not upgrade team-orders/orders-api"):
        start_upgrade(provenance=provenance, to_version=version_b, actor=outsider)
    assert not Run.objects.filter(kind="upgrade").exists()


def test_adopt_links_an_existing_repository_and_upgrades_it(
    owner: User, outsider: User, tmp_path: Path
) -> None:
    """A repository Paved did not make: its owner links it to version A with its values; the
    upgrade to B then merges onto what the repository holds."""
    from scaffolder.models import ProvenanceSource
    from scaffolder.upgrades.services import adopt_repository

    version_a = write_template(tmp_path / "tpl", VERSION_A)
    host = git_host()
    made, _ = host.ensure_repository("team-orders", "handmade", default_branch="main")
    host.commit_files(made, {"app.py": b"VERSION = 1\n", "main.go": b"package main\n"},
                      message="by hand", branch="main")  # fmt: skip
    values = {"name": "handmade", "owner": "team-orders",
              "repoUrl": "localhost?owner=team-orders&repo=handmade"}  # fmt: skip
    with pytest.raises(UpgradeError, match="may adopt only their team's repositories"):
        adopt_repository(repository="team-orders/handmade", version=version_a, values=values,
                         actor=outsider)  # fmt: skip
    with pytest.raises(UpgradeError, match="does not exist"):
        adopt_repository(repository="team-orders/nothing", version=version_a, values=values,
                         actor=owner)  # fmt: skip
    provenance = adopt_repository(
        repository="team-orders/handmade", version=version_a, values=values, actor=owner
    )
    assert provenance.source == ProvenanceSource.ADOPTED
    assert provenance.owner_ref == "group:default/team-orders"
    version_b = write_template(tmp_path / "tpl", VERSION_B)
    plan = plan_upgrade(provenance, version_b)
    assert plan.files["app.py"] == b"VERSION = 2\n"  # unchanged since A: takes B
    assert plan.files["main.go"] == b"package main\n"  # the team's own file stays
    assert "Dockerfile" in plan.files


def test_a_tool_cache_in_the_template_folder_is_not_a_new_version(tmp_path: Path) -> None:
    from scaffolder.upgrades.snapshots import folder_files, tree_digest

    folder = tmp_path / "tpl"
    (folder / "skeleton").mkdir(parents=True)
    (folder / "skeleton" / "app.py").write_text("VERSION = 1\n")
    before = tree_digest(str(folder))
    # What `ruff check .` or pytest leave behind when run inside the folder.
    for cache in (".ruff_cache/0.9/123", "__pycache__/app.cpython-313.pyc", ".pytest_cache/v"):
        (folder / "skeleton" / cache).parent.mkdir(parents=True, exist_ok=True)
        (folder / "skeleton" / cache).write_bytes(b"\x00cache")
    assert tree_digest(str(folder)) == before
    assert set(folder_files(str(folder)) or {}) == {"skeleton/app.py"}
