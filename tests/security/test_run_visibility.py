"""A developer of another team reading, or acting on, a run that is not theirs.

A run's page and log carry the owning team's service names, repository URLs and step errors.
Every run URL answers another team exactly as it answers for a run that does not exist (404),
changes nothing, and the run is in none of their lists or search results. The person who
started it (also after leaving the team), the owning team and platform admins still see it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from catalog.models import Entity, Relation
from infra import services as infra_services
from infra.models import Approval, RequestEvent, RequestStatus, ResourceRequest
from infra.validation import RequestSpec
from portal.models import AuditEvent
from runs.models import Run, RunLogLine, RunStatus, Step
from runs.runner import StepSpec, execute_step, start_run
from tests.conftest import make_member
from tests.infra.conftest import SEED_REQUEST, cluster_dir, orders_service, presets  # noqa: F401

pytestmark = pytest.mark.django_db

# What another team must never read: a private repository and a step's error.
PRIVATE_REPO = "https://git.example.com/team-orders/orders-ledger-private"
TITLE = "Create orders-ledger"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _failed_run(requester: User) -> Run:
    """A team-orders run that failed at its second step (so it may be retried)."""
    run = start_run(
        kind="scaffolder",
        title=TITLE,
        actor=requester,
        owner_ref="group:default/team-orders",
        inputs={"repoUrl": PRIVATE_REPO},
        steps=[
            StepSpec("publish", "debug:log", inputs={"message": f"pushed {PRIVATE_REPO}"}),
            StepSpec("register", "test:broken", inputs={}),
        ],
    )
    for step in run.steps.order_by("position"):
        execute_step(step.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    return run


def _pending_run(requester: User) -> Run:
    """A team-orders run still waiting for a worker (so it may be cancelled)."""
    return start_run(
        kind="scaffolder",
        title=TITLE,
        actor=requester,
        owner_ref="group:default/team-orders",
        steps=[StepSpec("publish", "debug:log", inputs={"message": f"pushed {PRIVATE_REPO}"})],
    )


def _snapshot(run: Run) -> tuple[Any, ...]:
    """Everything an action on the run would change."""
    run.refresh_from_db()
    steps = tuple(
        Step.objects.filter(run=run).order_by("position").values_list("status", "attempt")
    )
    return (
        run.status,
        run.log_seq,
        run.cancelled_by_id,
        steps,
        RunLogLine.objects.filter(run=run).count(),
        AuditEvent.objects.count(),
    )


def _assert_like_a_missing_run(response: Any, missing: Any) -> None:
    assert response.status_code == 404
    assert response.status_code == missing.status_code
    body = response.content.decode()
    assert "Not found" in body
    for secret in (TITLE, PRIVATE_REPO, "team-orders", "repository name is taken"):
        assert secret not in body


RUN_URLS = [
    ("get", "runs:run-detail", {}, {}),
    ("get", "runs:run-log", {"after": "0"}, {"HTTP_HX_REQUEST": "true"}),
    ("get", "runs:run-log", {"after": "1"}, {}),
    ("post", "runs:run-retry", {"step": "register"}, {}),
    ("post", "runs:run-retry", {}, {"HTTP_HX_REQUEST": "true"}),
    ("post", "runs:run-cancel", {}, {}),
]


@pytest.mark.parametrize(("method", "urlname", "data", "headers"), RUN_URLS)
def test_reading_or_acting_on_another_teams_run_is_404_and_changes_nothing(
    owner: User, outsider: User, method: str, urlname: str, data: dict[str, str],
    headers: dict[str, str],
) -> None:  # fmt: skip
    attacker = _client(outsider)
    for run in (_failed_run(owner), _pending_run(owner)):
        before = _snapshot(run)
        response = getattr(attacker, method)(reverse(urlname, args=[run.pk]), data, **headers)
        missing = getattr(attacker, method)(reverse(urlname, args=[run.pk + 1000]), data, **headers)
        _assert_like_a_missing_run(response, missing)
        assert _snapshot(run) == before


def test_another_teams_run_is_in_none_of_the_outsiders_lists_or_search(
    owner: User, outsider: User
) -> None:
    run = _failed_run(owner)
    attacker = _client(outsider)
    pages = [
        attacker.get(reverse("runs:run-list")),
        attacker.get(reverse("runs:run-list"), {"scope": "all"}),
        attacker.get(reverse("runs:run-list"), {"scope": "all"}, HTTP_HX_REQUEST="true"),
        attacker.get(reverse("runs:run-list"), {"scope": "all", "status": "failed"}),
        attacker.get(reverse("home")),
        attacker.get(reverse("search"), {"q": "orders-ledger"}),
        attacker.get(reverse("search"), {"q": str(run.pk)}),
        attacker.get(reverse("search"), {"q": "ledger"}, HTTP_HX_REQUEST="true"),
    ]
    for page in pages:
        assert page.status_code == 200
        body = page.content.decode()
        assert TITLE not in body
        assert reverse("runs:run-detail", args=[run.pk]) not in body


@pytest.mark.parametrize("who", ["teammate", "requester_who_left", "platform_admin"])
def test_the_team_the_requester_and_platform_admins_still_see_the_run(
    request: pytest.FixtureRequest, team: Entity, owner: User, outsider: User, who: str
) -> None:
    run = _failed_run(owner)
    if who == "teammate":
        viewer = make_member("tara", team)
    elif who == "requester_who_left":
        # The requester moved to team-payments; they keep seeing what they started.
        Relation.objects.filter(source__user=owner, type="memberOf").delete()
        viewer = owner
    else:
        viewer = request.getfixturevalue("platform_admin")
    client = _client(viewer)
    page = client.get(reverse("runs:run-detail", args=[run.pk]))
    assert page.status_code == 200
    assert PRIVATE_REPO in page.content.decode()
    poll = client.get(reverse("runs:run-log", args=[run.pk]), {"after": "0"})
    assert poll.status_code == 200
    assert f"pushed {PRIVATE_REPO}" in poll.content.decode()
    detail = reverse("runs:run-detail", args=[run.pk])
    assert detail in client.get(reverse("runs:run-list"), {"scope": "all"}).content.decode()
    assert detail in client.get(reverse("search"), {"q": "orders-ledger"}).content.decode()
    retry = client.post(reverse("runs:run-retry", args=[run.pk]), {"step": "register"})
    assert retry.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING


def test_run_list_of_a_team_member_stays_flat_at_many_runs(
    team: Entity, owner: User, outsider: User, django_assert_num_queries: Any
) -> None:
    """The team filter is a subquery: the list costs the same with 1 or 40 team runs, and
    another team's 40 runs neither show up nor cost anything."""
    teammate = make_member("tara", team)
    client = _client(teammate)
    _pending_run(owner)
    client.get(reverse("runs:run-list"), {"scope": "all"})  # warm session, content types
    with django_assert_num_queries(4) as one:
        client.get(reverse("runs:run-list"), {"scope": "all"})
    for i in range(40):
        _pending_run(owner if i % 2 else outsider)
        Run.objects.filter(pk=Run.objects.latest("id").pk, requested_by=outsider).update(
            owner_ref="group:default/team-payments"
        )
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(reverse("runs:run-list"), {"scope": "all"})
    assert response.content.decode().count(TITLE) == 21  # 1 + 20 team-orders runs
    with django_assert_num_queries(1):
        assert Run.objects.visible_to(teammate).count() == 21


# --- The infrastructure request that a run acts for --------------------------------------------


@pytest.fixture
def orders_db(owner: User, orders_service: Entity, cluster_dir: Path) -> ResourceRequest:  # noqa: F811
    spec = RequestSpec.from_document(
        {**SEED_REQUEST, "environment": "production", "component": "orders-service"}
    )
    req = infra_services.submit_request(spec=spec, actor=owner)
    assert req.status == RequestStatus.AWAITING_APPROVAL
    return req


def test_another_teams_infra_request_is_404_and_changes_nothing(
    orders_db: ResourceRequest, outsider: User
) -> None:
    attacker = _client(outsider)
    pk = orders_db.pk
    approval = Approval.objects.get(request=orders_db)
    before = (
        ResourceRequest.objects.filter(pk=pk).values().get(),
        Run.objects.count(),
        RequestEvent.objects.count(),
        Approval.objects.filter(pk=approval.pk).values().get(),
    )
    attempts = [
        attacker.get(reverse("infra:request-detail", args=[pk])),
        attacker.get(reverse("infra:request-delete", args=[pk])),
        attacker.post(reverse("infra:request-resize", args=[pk]), {"size": "60"}),
        attacker.post(reverse("infra:request-cancel", args=[pk])),
        attacker.post(reverse("infra:approval-decide", args=[approval.pk]),
                      {"decision": "reject", "comment": "mine now"}),
    ]  # fmt: skip
    for response in attempts:
        assert response.status_code == 404
        assert "orders-db" not in response.content.decode()
    for page in (
        attacker.get(reverse("infra:request-list"), {"scope": "all"}),
        attacker.get(reverse("search"), {"q": "orders-db"}),
    ):
        assert reverse("infra:request-detail", args=[pk]) not in page.content.decode()
    after = (
        ResourceRequest.objects.filter(pk=pk).values().get(),
        Run.objects.count(),
        RequestEvent.objects.count(),
        Approval.objects.filter(pk=approval.pk).values().get(),
    )
    assert after == before


def test_a_team_lead_sees_the_request_but_only_the_runs_of_teams_they_belong_to(
    orders_db: ResourceRequest, owner: User, other_team: Entity, platform_admin: User
) -> None:
    """A request's page lists its runs through the same rule as the run pages."""
    from infra.models import TeamLead

    lead = make_member("leo", other_team)  # leads team-orders without being a member
    TeamLead.objects.create(group_ref="group:default/team-orders", user=lead)
    run = Run.objects.get(subject=orders_db.subject)
    url = reverse("infra:request-detail", args=[orders_db.pk])
    run_url = reverse("runs:run-detail", args=[run.pk])
    lead_page = _client(lead).get(url)
    assert lead_page.status_code == 200
    assert f'href="{run_url}"' not in lead_page.content.decode()
    assert _client(lead).get(run_url).status_code == 404
    assert f'href="{run_url}"' in _client(owner).get(url).content.decode()
    assert f'href="{run_url}"' in _client(platform_admin).get(url).content.decode()
