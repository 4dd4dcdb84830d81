"""The upgrade pages: a template's rollout tab, a component's template tab, the diff preview,
starting an upgrade, and the admin roll-out; outsiders see none of a team's upgrades."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from catalog.models import Entity
from runs.models import Run
from scaffolder.models import TemplateUpgrade, TemplateVersion
from tests.scaffolder.upgrade_helpers import VERSION_A, VERSION_B, scaffold, write_template

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def service(settings: Any, git_root: Path, owner: User, tmp_path: Path) -> Any:
    settings.PAVED_GIT_PROVIDER = "local"
    version_a = write_template(tmp_path / "tpl", VERSION_A)
    provenance = scaffold(version_a, owner, "orders-api")
    Entity.objects.create(kind="Component", name="orders-api", owner_ref="group:default/team-orders",
                          metadata={"annotations": {"localhost/project-slug": "team-orders/orders-api"}})  # fmt: skip
    write_template(tmp_path / "tpl", VERSION_B)
    return provenance


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_component_page_offers_the_upgrade_to_its_team(service: Any, owner: User) -> None:
    page = _client(owner).get("/catalog/default/component/orders-api/?tab=template")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Made from <strong>tiny-service</strong> v1" in text
    assert "v2 available" in text
    assert reverse("scaffolder:upgrade-preview", args=[service.pk]) in text


def test_preview_shows_the_diff_before_any_pull_request(service: Any, owner: User) -> None:
    page = _client(owner).get(reverse("scaffolder:upgrade-preview", args=[service.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "-VERSION = 1" in text
    assert "+VERSION = 2" in text
    assert "b/Dockerfile" in text
    assert not TemplateUpgrade.objects.exists()
    assert not Run.objects.filter(kind="upgrade").exists()


def test_open_the_upgrade_pr_starts_an_upgrade_run(service: Any, owner: User) -> None:
    response = _client(owner).post(reverse("scaffolder:upgrade-start", args=[service.pk]))
    run = Run.objects.get(kind="upgrade")
    assert response.status_code == 302
    assert response["Location"] == reverse("runs:run-detail", args=[run.pk])
    assert run.requested_by == owner
    assert run.owner_ref == "group:default/team-orders"


def test_outsiders_get_404_for_another_teams_upgrade(service: Any, outsider: User) -> None:
    client = _client(outsider)
    assert client.get(reverse("scaffolder:upgrade-preview", args=[service.pk])).status_code == 404
    assert client.post(reverse("scaffolder:upgrade-start", args=[service.pk])).status_code == 404
    page = client.get("/catalog/default/component/orders-api/?tab=template").content.decode()
    assert "Open the upgrade PR" not in page
    assert not Run.objects.filter(kind="upgrade").exists()


def test_template_page_shows_the_rollout_and_admins_roll_out(
    service: Any, owner: User, platform_admin: User
) -> None:
    url = "/catalog/default/template/tiny-service/?tab=rollout"
    text = _client(owner).get(url).content.decode()
    assert "team-orders/orders-api" in text
    assert "Behind" in text
    assert "Roll out v2" not in text  # only for platform admins
    latest = TemplateVersion.objects.order_by("-version")[0]
    rollout = reverse("scaffolder:upgrade-rollout", args=[latest.pk])
    assert _client(owner).post(rollout, {"scope": "all"}).status_code == 403
    admin = _client(platform_admin)
    assert "Roll out v2 to all 1 behind" in admin.get(url).content.decode()
    response = admin.post(rollout, {"scope": "all"})
    assert response.status_code == 302
    upgrade = TemplateUpgrade.objects.get()
    assert upgrade.requested_by == platform_admin
    assert Run.objects.get(pk=upgrade.run_pk).kind == "upgrade"


def test_owner_adopts_a_repository_paved_did_not_make(
    settings: Any, git_root: Path, owner: User, outsider: User, tmp_path: Path
) -> None:
    from portal.providers import git_host
    from scaffolder.models import ServiceProvenance

    settings.PAVED_GIT_PROVIDER = "local"
    version = write_template(tmp_path / "tpl", VERSION_A)
    made, _ = git_host().ensure_repository("team-orders", "handmade", default_branch="main")
    git_host().commit_files(made, {"app.py": b"VERSION = 1\n"}, message="m", branch="main")
    Entity.objects.create(kind="Component", name="handmade", owner_ref="group:default/team-orders",
                          metadata={"annotations": {"localhost/project-slug": "team-orders/handmade"}})  # fmt: skip
    tab = _client(owner).get("/catalog/default/component/handmade/?tab=template").content.decode()
    assert "Link to a template" in tab
    url = reverse("scaffolder:upgrade-adopt") + "?component=component:default/handmade"
    assert _client(outsider).get(url).status_code == 404
    client = _client(owner)
    form = client.get(url).content.decode()
    assert "repoUrl: localhost?owner=team-orders&amp;repo=handmade" in form
    bad = client.post(url, {"template": version.pk, "values": "name: [unclosed"})
    assert bad.status_code == 422
    assert "The values are not valid YAML" in bad.content.decode()
    assert not ServiceProvenance.objects.exists()
    values = "name: handmade\nowner: group:default/team-orders\nrepoUrl: localhost?owner=team-orders&repo=handmade\n"
    response = client.post(url, {"template": version.pk, "values": values})
    assert response.status_code == 302
    provenance = ServiceProvenance.objects.get(repository="team-orders/handmade")
    assert provenance.source == "adopted"
    assert provenance.version == version


def test_a_declined_upgrade_shows_and_its_team_may_open_a_new_pull_request(
    service: Any, owner: User, platform_admin: User
) -> None:
    from portal.providers import git_host
    from runs.models import RunStatus
    from scaffolder.models import UpgradeState
    from scaffolder.upgrades.services import refresh_pull_request_states
    from tests.scaffolder.upgrade_helpers import drive, repo

    _client(owner).post(reverse("scaffolder:upgrade-start", args=[service.pk]))
    assert drive(Run.objects.get(kind="upgrade")).status == RunStatus.SUCCEEDED
    upgrade = TemplateUpgrade.objects.get()
    git_host().close_pull_request(repo("orders-api"), upgrade.pull_number, closed_by="olivia")  # type: ignore[attr-defined]
    refresh_pull_request_states()

    tab = _client(owner).get("/catalog/default/component/orders-api/?tab=template").content.decode()
    assert "Upgrade to v2: Declined" in tab
    assert "pull request #1</a> (closed without merging)" in tab
    assert "Open a new upgrade PR" in tab
    rollout = _client(platform_admin).get("/catalog/default/template/tiny-service/?tab=rollout")
    text = rollout.content.decode()
    assert 'data-state="declined"' in text
    assert "1 behind (1 declined)" in text
    assert "to all" not in text  # nothing left for "all": the team said no
    assert "select them to ask again" in text

    _client(owner).post(reverse("scaffolder:upgrade-start", args=[service.pk]))
    upgrade.refresh_from_db()
    assert drive(Run.objects.get(pk=upgrade.run_pk)).status == RunStatus.SUCCEEDED
    upgrade.refresh_from_db()
    assert upgrade.state == UpgradeState.OPEN
    assert upgrade.pull_number == 2


def test_the_rollout_tab_costs_the_same_queries_for_one_service_or_fifty(
    service: Any, platform_admin: User
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from scaffolder.models import ServiceProvenance

    url = "/catalog/default/template/tiny-service/?tab=rollout"
    admin = _client(platform_admin)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin.get(url).status_code == 200
        return len(captured)

    one = queries()
    ServiceProvenance.objects.bulk_create(
        ServiceProvenance(
            repository=f"team-orders/svc-{n}", git_host="local", owner_ref=service.owner_ref,
            template_ref=service.template_ref, version=service.version, values={"name": f"svc-{n}"},
        )
        for n in range(49)
    )  # fmt: skip
    assert queries() == one
