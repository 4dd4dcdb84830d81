"""`manage.py start_demo_run`: a newcomer's first run."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from runs.models import Run

pytestmark = pytest.mark.django_db


def test_starts_a_three_step_demo_run(platform_admin, django_capture_on_commit_callbacks) -> None:
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command("start_demo_run", "--seconds", "2", stdout=out)
    run = Run.objects.get()
    assert f"Started run #{run.pk}: " in out.getvalue()
    assert out.getvalue().strip().endswith(f"/runs/{run.pk}/")
    assert run.requested_by == platform_admin  # the first superuser by default
    assert [(s.kind, s.inputs) for s in run.steps.order_by("position")] == [
        ("debug:log", {"message": "Hello from the demo run."}),
        ("debug:wait", {"seconds": 2.0}),
        ("debug:log", {"message": "All three steps ran."}),
    ]
    assert len(callbacks) == 1  # enqueued once committed


def test_unknown_user_is_refused(owner) -> None:
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("start_demo_run", "--user", "nobody")
    assert not Run.objects.exists()


def test_bad_wait_is_refused_before_anything_is_written(owner) -> None:
    with pytest.raises(CommandError, match="seconds"):
        call_command("start_demo_run", "--user", owner.username, "--seconds", "-1")
    assert not Run.objects.exists()
