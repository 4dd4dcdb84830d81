"""Run pages: the live log with a cursor, and who may cancel or retry."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from runs.models import Run, RunStatus, StepStatus
from runs.runner import StepSpec, execute_step, start_run

pytestmark = pytest.mark.django_db


def _run(actor: User | None, owner_ref: str = "group:default/team-orders") -> Run:
    return start_run(
        kind="demo",
        title="Create orders-service",
        actor=actor,
        owner_ref=owner_ref,
        steps=[
            StepSpec("one", "debug:log", inputs={"message": "first line"}),
            StepSpec("two", "test:broken", inputs={}),
        ],
    )


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_run_page_needs_login(client: Client, owner: User) -> None:
    run = _run(owner)
    response = client.get(f"/runs/{run.pk}/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_run_page_shows_steps_log_and_a_poller_while_active(owner: User) -> None:
    run = _run(owner)
    page = _client(owner).get(f"/runs/{run.pk}/").content.decode()
    assert "Create orders-service" in page
    assert 'data-step="one"' in page
    assert "Run requested by olivia" in page
    assert f'hx-get="/runs/{run.pk}/log?after=1"' in page
    assert "Cancel run" in page


def test_log_poll_returns_only_lines_after_the_cursor(owner: User) -> None:
    run = _run(owner)
    run.steps.filter(key="one").update()
    execute_step(run.steps.get(key="one").pk)
    client = _client(owner)
    body = client.get(f"/runs/{run.pk}/log?after=1", HTTP_HX_REQUEST="true").content.decode()
    assert "Run requested by" not in body  # line 1 is before the cursor
    assert "first line" in body
    assert 'hx-swap-oob="true"' in body  # step list and poller travel out of band
    assert 'data-status="succeeded"' in body


def test_log_poll_stops_with_286_once_the_run_is_finished(owner: User) -> None:
    run = _run(owner)
    for key in ("one", "two"):
        execute_step(run.steps.get(key=key).pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    last = run.log_seq
    client = _client(owner)
    response = client.get(f"/runs/{run.pk}/log?after={last}", HTTP_HX_REQUEST="true")
    assert response.status_code == 286
    assert "hx-get" not in response.content.decode()  # the poller is replaced by an inert one


@pytest.mark.parametrize(
    ("persona", "allowed"), [("owner", True), ("outsider", False), ("platform_admin", True)]
)
def test_only_owners_and_admins_may_retry(
    request: pytest.FixtureRequest, owner: User, persona: str, allowed: bool
) -> None:
    run = _run(owner)
    for key in ("one", "two"):
        execute_step(run.steps.get(key=key).pk)
    user = request.getfixturevalue(persona)
    client = _client(user)
    page = client.get(f"/runs/{run.pk}/")
    assert ("Retry from this step" in page.content.decode()) is allowed
    response = client.post(f"/runs/{run.pk}/retry", {"step": "two"})
    run.refresh_from_db()
    if allowed:
        assert response.status_code == 302
        assert run.status == RunStatus.RUNNING
        assert run.steps.get(key="two").status == StepStatus.PENDING
    else:
        # Another team's run does not exist for them (tests/security/test_run_visibility.py).
        assert page.status_code == response.status_code == 404
        assert run.status == RunStatus.FAILED


@pytest.mark.parametrize(
    ("persona", "allowed"), [("owner", True), ("outsider", False), ("platform_admin", True)]
)
def test_only_owners_and_admins_may_cancel(
    request: pytest.FixtureRequest, owner: User, persona: str, allowed: bool
) -> None:
    run = _run(owner)
    client = _client(request.getfixturevalue(persona))
    response = client.post(f"/runs/{run.pk}/cancel")
    run.refresh_from_db()
    assert (run.status == RunStatus.CANCELLED) is allowed
    assert response.status_code == (302 if allowed else 404)


def test_run_list_query_count_does_not_grow_with_runs(
    owner: User, django_assert_num_queries
) -> None:
    client = _client(owner)
    _run(owner)
    client.get("/runs/")  # warm up session and content types
    with django_assert_num_queries(4) as first:
        client.get("/runs/")
    for _ in range(10):
        _run(owner)
    with django_assert_num_queries(len(first.captured_queries)):
        response = client.get("/runs/")
    assert response.content.decode().count('href="/runs/') >= 11
