"""Pages: list, request form with live preview, request page, day-2 actions, approvals inbox,
team costs; each write checked with the owner, an outsider and a platform admin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from catalog.models import Entity
from infra import services
from infra.models import ApprovalStatus, RequestStatus, ResourceRequest
from infra.validation import RequestSpec
from runs.models import Run
from tests.infra.conftest import SEED_REQUEST, drive, latest_run

pytestmark = pytest.mark.django_db

FORM = {
    "resource_class": "postgresql",
    "component": "component:default/orders-service",
    "environment": "dev",
    "provider": "aws",
    "name": "orders-db",
    "namespace": "orders-service",
    "param_storageGB": "20",
    "param_tier": "standard",
    "param_region": "eu-west-1",
    "param_backupEnabled": "on",
}


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def ready_request(owner: User, environment: str = "dev") -> ResourceRequest:
    spec = RequestSpec.from_document(
        {**SEED_REQUEST, "environment": environment, "component": "orders-service"}
    )
    req = services.submit_request(spec=spec, actor=owner)
    if req.status == RequestStatus.AWAITING_APPROVAL:
        return req
    drive(latest_run(req.subject))
    req.refresh_from_db()
    return req


def test_list_is_named_and_shows_my_teams_requests(
    client: Client, owner: User, outsider: User, orders_service: Entity, cluster_dir: Path
) -> None:
    assert reverse("infra:request-list") == "/infra/"
    ready_request(owner)
    response = login(client, owner).get("/infra/")
    assert response.status_code == 200
    assert b"orders-service/orders-db" in response.content
    response = login(Client(), outsider).get("/infra/")
    assert b"orders-db" not in response.content


def test_list_query_count_does_not_grow_with_rows(
    client: Client,
    owner: User,
    orders_service: Entity,
    cluster_dir: Path,
    django_assert_max_num_queries: Any,
) -> None:
    login(client, owner)
    ready_request(owner)
    client.get("/infra/")  # warm caches (session, content types)
    with django_assert_max_num_queries(12) as one:
        client.get("/infra/")
    for i in range(5):
        spec = RequestSpec.from_document(
            {**SEED_REQUEST, "environment": "dev", "name": f"db-{i}", "component": "orders-service"}
        )
        services.submit_request(spec=spec, actor=owner)
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get("/infra/")


def test_form_offers_only_owned_components(
    client: Client, owner: User, orders_service: Entity, payments_service: Entity
) -> None:
    response = login(client, owner).get(reverse("infra:request-create"))
    assert response.status_code == 200
    assert b"component:default/orders-service" in response.content
    assert b"component:default/payments-service" not in response.content
    assert b'name="param_storageGB"' in response.content
    # Fields in the class's parameter order (JSONB would sort the schema's keys).
    response = client.get(reverse("infra:request-create"), {"resource_class": "postgresql"})
    body = response.content.decode()
    names = ["param_storageGB", "param_tier", "param_region", "param_backupEnabled"]
    positions = [body.index(f'name="{n}"') for n in names]
    assert positions == sorted(positions)


def test_component_choices_read_as_people_name_them(
    client: Client,
    owner: User,
    platform_admin: User,
    orders_service: Entity,
    payments_service: Entity,
    team: Entity,
) -> None:
    orders_service.title = "Orders service"
    orders_service.save()
    team.spec = {"type": "team", "profile": {"displayName": "Orders team"}}
    team.save()
    body = login(client, owner).get(reverse("infra:request-create")).content.decode()
    assert '<option value="component:default/orders-service">Orders service</option>' in body
    assert "(group:default/team-orders)" not in body
    # A platform admin sees every team's components: the team's name tells them apart.
    body = login(client, platform_admin).get(reverse("infra:request-create")).content.decode()
    assert ">Orders service · Orders team</option>" in body
    assert ">payments-service · team-payments</option>" in body
    assert "group:default/" not in body.split('id="id_component"')[1].split("</select>")[0]


def test_form_fields_follow_the_chosen_class(
    client: Client, owner: User, orders_service: Entity
) -> None:
    response = login(client, owner).get(reverse("infra:request-create") + "?resource_class=queue")
    assert b'name="param_retentionHours"' in response.content
    assert b'name="param_storageGB"' not in response.content


def test_preview_shows_claim_and_cost_before_submitting(
    client: Client, owner: User, orders_service: Entity
) -> None:
    response = login(client, owner).post(
        reverse("infra:request-preview"), FORM, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body  # only the form partial
    assert "kind: PostgreSQLInstance" in body
    assert "environment: dev" in body
    assert "$17.30 / month" in body  # 15 + 20 GB x 0.115
    assert ResourceRequest.objects.count() == 0


def test_preview_shows_problems_next_to_fields(
    client: Client, owner: User, orders_service: Entity
) -> None:
    response = login(client, owner).post(
        reverse("infra:request-preview"),
        {**FORM, "param_storageGB": "5"},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert 'id="id_param_storageGB-errors"' in body
    assert "must be between 10 and 1000 (got 5)" in body
    assert "kind: PostgreSQLInstance" not in body


def test_submit_creates_request_and_run(
    client: Client, owner: User, orders_service: Entity
) -> None:
    response = login(client, owner).post(reverse("infra:request-create"), FORM)
    req = ResourceRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("infra:request-detail", args=[req.pk])
    assert Run.objects.filter(subject=req.subject).count() == 1


def test_invalid_submit_is_422_with_errors_next_to_fields_and_writes_nothing(
    client: Client, owner: User, orders_service: Entity, payments_service: Entity
) -> None:
    bad = {**FORM, "param_storageGB": "5000", "name": "Bad Name",
           "component": "component:default/payments-service"}  # fmt: skip
    response = login(client, owner).post(reverse("infra:request-create"), bad)
    assert response.status_code == 422
    body = response.content.decode()
    assert 'id="id_param_storageGB-errors"' in body
    assert 'id="id_name-errors"' in body
    assert "you do not own payments-service" in body
    assert ResourceRequest.objects.count() == 0
    assert Run.objects.count() == 0


def test_quota_problem_is_shown_above_the_form(
    client: Client, owner: User, orders_service: Entity
) -> None:
    from infra.models import Policy

    Policy.objects.filter(environment="dev").update(max_storage_gb_per_team=10)
    response = login(client, owner).post(reverse("infra:request-create"), FORM)
    assert response.status_code == 422
    assert (
        "quota: group:default/team-orders would use 20 GB of its 10 GB" in response.content.decode()
    )


def test_request_page_links_its_component_and_team(
    client: Client, owner: User, orders_service: Entity, cluster_dir: Path
) -> None:
    """From a request you get to the component (its Costs tab) and the team in one click."""
    req = ready_request(owner)
    body = login(client, owner).get(reverse("infra:request-detail", args=[req.pk])).content
    by_ref = reverse("catalog:entity-by-ref")
    assert f'href="{by_ref}?ref=component%3Adefault/orders-service"'.encode() in body
    assert f'href="{by_ref}?ref=group%3Adefault/team-orders"'.encode() in body
    page = client.get(f"{by_ref}?ref=component%3Adefault/orders-service", follow=True)
    assert page.status_code == 200
    assert b"orders-service" in page.content


def test_request_page_is_private_to_its_team(
    client: Client,
    owner: User,
    outsider: User,
    platform_admin: User,
    orders_service: Entity,
    cluster_dir: Path,
) -> None:
    """The owning team and platform admins open it; another team gets 404, even with
    scope=all, and the component's Infrastructure tab shows them the row without a link."""
    req = ready_request(owner)
    url = reverse("infra:request-detail", args=[req.pk])
    assert login(client, owner).get(url).status_code == 200
    assert 'id="day2"' in client.get(url).content.decode()
    assert login(Client(), platform_admin).get(url).status_code == 200
    other = login(Client(), outsider)
    assert other.get(url).status_code == 404
    listing = reverse("infra:request-list")
    assert "orders-db" not in other.get(listing).content.decode()
    assert "orders-db" not in other.get(listing, {"scope": "all"}).content.decode()
    tab = "/catalog/default/component/orders-service/?tab=infrastructure"
    outside_tab = other.get(tab).content.decode()
    assert "orders-service/orders-db" in outside_tab
    assert url not in outside_tab
    assert url in client.get(tab).content.decode()
    body = client.get(url).content.decode()
    assert "orders-db-secret" in body
    assert "secretRef" in body


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("request-resize", {"size": "60"}),
        ("request-change-tier", {"tier": "large"}),
        ("request-protection", {"enabled": "on"}),
        ("request-delete", {"confirm": "orders-db"}),
        ("request-cancel", {}),
    ],
)
def test_day2_actions_are_404_for_outsiders(
    client: Client, owner: User, outsider: User, orders_service: Entity, cluster_dir: Path,
    action: str, data: dict[str, str],
) -> None:  # fmt: skip
    req = ready_request(owner)
    response = login(client, outsider).post(reverse(f"infra:{action}", args=[req.pk]), data)
    assert response.status_code == 404
    assert Run.objects.filter(subject=req.subject).count() == 1


def test_former_requester_sees_but_gets_403_with_reason_on_change(
    client: Client, owner: User, orders_service: Entity, cluster_dir: Path, other_team: Entity
) -> None:
    """Someone who asked for it and then moved teams still sees it, but may not change it."""
    from tests.conftest import make_member

    req = ready_request(owner)
    former = make_member("fred", other_team)
    ResourceRequest.objects.filter(pk=req.pk).update(requested_by=former)
    response = login(client, former).post(
        reverse("infra:request-resize", args=[req.pk]), {"size": "60"}
    )
    assert response.status_code == 403
    assert b"Only members of group:default/team-orders or a platform admin" in response.content


def test_owner_resizes_and_shrinking_is_422(
    client: Client, owner: User, orders_service: Entity, cluster_dir: Path
) -> None:
    req = ready_request(owner)
    login(client, owner)
    url = reverse("infra:request-resize", args=[req.pk])
    response = client.post(url, {"size": "10"})
    assert response.status_code == 422
    assert "shrinking from 20 to 10 is not allowed" in response.content.decode()
    response = client.post(url, {"size": "60"})
    assert response.status_code == 302
    drive(latest_run(req.subject))
    req.refresh_from_db()
    assert req.parameters["storageGB"] == 60


def test_platform_admin_changes_tier(
    client: Client, owner: User, platform_admin: User, orders_service: Entity, cluster_dir: Path
) -> None:
    req = ready_request(owner)
    response = login(client, platform_admin).post(
        reverse("infra:request-change-tier", args=[req.pk]), {"tier": "large"}
    )
    assert response.status_code == 302
    drive(latest_run(req.subject))
    req.refresh_from_db()
    assert req.parameters["tier"] == "large"


def test_delete_is_two_steps(
    client: Client, owner: User, orders_service: Entity, cluster_dir: Path
) -> None:
    req = ready_request(owner)
    login(client, owner)
    url = reverse("infra:request-delete", args=[req.pk])
    first = client.get(url)
    assert first.status_code == 200
    assert b"Type <code>orders-db</code> to confirm" in first.content
    assert Run.objects.filter(subject=req.subject).count() == 1
    wrong = client.post(url, {"confirm": "orders"})
    assert wrong.status_code == 422
    assert b"type &#x27;orders-db&#x27; to confirm" in wrong.content
    client.post(reverse("infra:request-protection", args=[req.pk]), {"enabled": "on"})
    blocked = client.post(url, {"confirm": "orders-db"})
    assert blocked.status_code == 422
    assert b"deletion protection is on" in blocked.content
    client.post(reverse("infra:request-protection", args=[req.pk]), {"enabled": "off"})
    done = client.post(url, {"confirm": "orders-db"})
    assert done.status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.DELETING


def test_approvals_inbox_and_decisions(
    client: Client, owner: User, outsider: User, platform_admin: User, team_lead: User,
    orders_service: Entity, cluster_dir: Path,
) -> None:  # fmt: skip
    req = ready_request(owner, "production")
    approval = req.approvals.get()
    decide = reverse("infra:approval-decide", args=[approval.pk])
    # The owning team sees it waiting, cannot decide it.
    inbox = login(client, owner).get(reverse("infra:approval-list")).content.decode()
    assert "Nothing waits for your approval" in inbox
    assert "orders-service/orders-db" in inbox
    denied = client.post(decide, {"decision": "approve"})
    assert denied.status_code == 403
    assert b"someone else must approve" in denied.content
    # Another team does not even see it.
    other = login(Client(), outsider).post(decide, {"decision": "approve"})
    assert other.status_code == 404
    # The lead and the platform admin see it in their inbox.
    lead_client = login(Client(), team_lead)
    assert (
        "orders-service/orders-db"
        in lead_client.get(reverse("infra:approval-list")).content.decode()
    )
    admin_client = login(Client(), platform_admin)
    assert f'action="{decide}"' in admin_client.get(reverse("infra:approval-list")).content.decode()
    # Rejecting needs a reason.
    assert admin_client.post(decide, {"decision": "reject", "comment": ""}).status_code == 422
    assert lead_client.post(decide, {"decision": "approve", "comment": "go"}).status_code == 302
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED
    assert Run.objects.filter(subject=req.subject).count() == 2
    # Deciding twice is refused.
    again = admin_client.post(decide, {"decision": "reject", "comment": "late"})
    assert again.status_code == 403


def test_cancel_pending_request(
    client: Client, owner: User, orders_service: Entity, cluster_dir: Path
) -> None:
    req = ready_request(owner, "production")
    page = login(client, owner).get(reverse("infra:request-detail", args=[req.pk])).content.decode()
    assert "Waiting for approval" in page
    assert "Withdraw this create" in page
    response = client.post(reverse("infra:request-cancel", args=[req.pk]))
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.CANCELLED


def test_team_costs(client: Client, owner: User, outsider: User, platform_admin: User,
                    orders_service: Entity, cluster_dir: Path) -> None:  # fmt: skip
    ready_request(owner)
    body = login(client, owner).get(reverse("infra:cost-list")).content.decode()
    assert "<h2>team-orders " in body  # the team by name, not its reference
    assert "$17.30 / month" in body
    assert (
        "team-orders"
        not in login(Client(), outsider).get(reverse("infra:cost-list")).content.decode()
    )
    assert (
        "team-orders"
        in login(Client(), platform_admin).get(reverse("infra:cost-list")).content.decode()
    )


def test_home_section_lists_my_requests(
    client: Client, owner: User, orders_service: Entity, cluster_dir: Path
) -> None:
    ready_request(owner)
    body = login(client, owner).get(reverse("home")).content.decode()
    assert 'id="home-infra"' in body
    assert "My requests" in body
    assert "orders-db" in body


def test_global_search_finds_visible_requests_only(
    client: Client, owner: User, outsider: User, orders_service: Entity, cluster_dir: Path
) -> None:
    ready_request(owner)
    hits = login(client, owner).get(reverse("search"), {"q": "orders-db"}).content.decode()
    assert "orders-service/orders-db" in hits
    other = login(Client(), outsider).get(reverse("search"), {"q": "orders-db"}).content.decode()
    assert "orders-service/orders-db" not in other


def test_demo_loader_names_team_leads() -> None:
    from catalog.demo import load_demo_catalog
    from infra.demo import load_demo_infra
    from infra.models import TeamLead

    load_demo_catalog()
    assert load_demo_infra().endswith("team leads: carol (team-orders), erin (team-payments)")
    assert TeamLead.objects.filter(
        group_ref="group:default/team-orders", user__username="carol"
    ).exists()


def test_choosing_another_class_swaps_only_the_form(
    client: Client, owner: User, orders_service: Entity
) -> None:
    response = login(client, owner).get(
        reverse("infra:request-create"),
        {"resource_class": "bucket"},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<form id="request-form"')
    assert 'name="param_versioning"' in body
    assert "HX-Request" in response["Vary"]


def test_htmx_submit_redirects_the_client(
    client: Client, owner: User, orders_service: Entity
) -> None:
    response = login(client, owner).post(
        reverse("infra:request-create"), FORM, headers={"HX-Request": "true"}
    )
    req = ResourceRequest.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("infra:request-detail", args=[req.pk])


def test_docs_page_renders(client: Client, owner: User) -> None:
    response = login(client, owner).get(reverse("docs:page", args=["infrastructure"]))
    assert response.status_code == 200
    assert "Self-service infrastructure" in response.content.decode()


def test_request_button_on_the_component_tab_preselects_the_component(
    client: Client, owner: User, orders_service: Entity
) -> None:
    response = login(client, owner).get(
        reverse("infra:request-create"), {"component": orders_service.ref}
    )
    assert b'<option value="component:default/orders-service" selected>' in response.content


def test_lead_only_approval_without_a_lead_says_so(
    client: Client, owner: User, orders_service: Entity, cluster_dir: Path
) -> None:
    from infra.models import Policy

    Policy.objects.filter(environment="production").update(approvers="team_lead")
    req = ready_request(owner, "production")
    page = login(client, owner).get(reverse("infra:request-detail", args=[req.pk]))
    assert "No lead is named for team-orders" in page.content.decode()


def test_component_page_has_infrastructure_and_costs_tabs(
    owner: User, orders_service: Entity
) -> None:
    component = orders_service
    client = Client()
    client.force_login(owner)
    url = f"/catalog/{component.namespace}/{component.kind.lower()}/{component.name}/"
    page = client.get(url).content.decode()
    assert "Infrastructure" in page
    assert "Costs" in page
    infra_tab = client.get(url, {"tab": "infrastructure"}).content.decode()
    assert 'id="component-infra"' in infra_tab
    costs_tab = client.get(url, {"tab": "costs"}).content.decode()
    assert 'data-testid="component-total"' in costs_tab


def test_parameters_are_labelled_in_words_with_the_sizes_explained(
    client: Client, owner: User, orders_service: Entity
) -> None:
    body = (
        login(client, owner)
        .get(reverse("infra:request-create") + "?resource_class=postgresql&environment=production")
        .content.decode()
    )
    assert '<label for="id_param_storageGB">Storage (GB)</label>' in body
    assert '<label for="id_param_tier">Size</label>' in body
    assert "Daily backups" in body
    assert ">storageGB<" not in body
    assert ">backupEnabled<" not in body
    assert "see the tiers" not in body
    # The sizes of the chosen environment, next to the field: what they are and cost.
    assert "What the sizes mean in production" in body
    assert "db.t3.medium" in body
    assert "$140.00 a month" in body
    # Backups start on.
    assert 'id="id_param_backupEnabled" checked' in body


def test_label_without_a_title_is_still_words() -> None:
    from infra.forms import human_label

    assert human_label("storageGB") == "Storage (GB)"
    assert human_label("backupEnabled") == "Backup enabled"
    assert human_label("tier") == "Tier"


def test_switching_class_keeps_defaults_and_swaps_only_lists_that_exist(
    client: Client, owner: User, orders_service: Entity
) -> None:
    # The page showed the queue's fields; the person picks PostgreSQL.
    response = login(client, owner).post(
        reverse("infra:request-preview"),
        {
            "resource_class": "postgresql",
            "shown_class": "queue",
            "component": "component:default/orders-service",
            "environment": "production",
            "provider": "aws",
            "name": "orders-db",
            "param_tier": "standard",
            "param_region": "eu-west-1",
        },
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    fields = body[body.index('<fieldset id="param-fields"') :]
    fields = fields[: fields.index("</fieldset>")]
    assert 'id="id_param_backupEnabled" checked' in fields
    # Error lists of the new class's fields come inside the new fieldset only, never as
    # separate out-of-band swaps whose target is not on the page yet.
    outside = body.replace(fields, "")
    assert 'id="id_param_backupEnabled-errors" hx-swap-oob' not in outside
    assert 'id="id_name-errors" hx-swap-oob="true"' in outside


def test_update_preview_says_what_is_missing(
    client: Client, owner: User, orders_service: Entity
) -> None:
    empty = {"resource_class": "postgresql", "shown_class": "postgresql", "action": "preview"}
    response = login(client, owner).post(reverse("infra:request-preview"), empty)
    body = response.content.decode()
    assert "Not yet: fill in or fix the fields marked in the form" in body
    assert "is required" in body or "choose the component" in body
    # A live preview while typing stays quiet about what is not filled in yet.
    quiet = client.post(
        reverse("infra:request-preview"),
        {**empty, "action": ""},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "is required" not in quiet
    assert "Not yet" not in quiet
