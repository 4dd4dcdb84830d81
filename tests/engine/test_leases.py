"""Leases come from settings: a step kind may ask for a multiple of PAVED_STEP_LEASE_SECONDS,
never a number of seconds of its own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

import pytest
from django.utils import timezone

from runs.lease import LeaseKeeper, lease_seconds
from runs.models import StepStatus
from runs.registry import NOTHING, StepKind, register_step, step_kinds
from runs.runner import StepSpec, claim_step, start_run

pytestmark = pytest.mark.django_db


def test_a_step_kind_with_its_own_lease_in_seconds_is_refused() -> None:
    with pytest.raises(ValueError, match="leases come from PAVED_STEP_LEASE_SECONDS"):

        @register_step
        class Slow(StepKind):
            name = "test:own-lease"
            writes = NOTHING
            lease_seconds = 300


@pytest.mark.parametrize("multiple", [0, 11, 1.5, True])
def test_a_lease_multiple_must_be_a_small_whole_number(multiple: Any) -> None:
    with pytest.raises(ValueError, match="lease_multiple must be a whole number from 1 to 10"):

        @register_step
        class Odd(StepKind):
            name = "test:odd-lease"
            writes = NOTHING
            lease_multiple: ClassVar[Any] = multiple


def test_every_registered_kind_takes_its_lease_from_the_setting(settings: Any) -> None:
    settings.PAVED_STEP_LEASE_SECONDS = 7
    for name, kind in step_kinds().items():
        assert lease_seconds(kind) == 7 * kind.lease_multiple, name
        assert "lease_seconds" not in vars(kind), name
    assert lease_seconds(step_kinds()["publish:git"]) == 7


@pytest.mark.django_db(transaction=True)
def test_the_engine_heartbeat_extends_the_lease_while_the_step_works(settings: Any) -> None:
    settings.PAVED_STEP_LEASE_SECONDS = 1
    run = start_run(kind="demo", title="t", actor=None,
                    steps=[StepSpec("a", "debug:log", inputs={"message": "x"})])  # fmt: skip
    step = run.steps.get()
    assert claim_step(step.pk, "me", 1)
    with LeaseKeeper(step.pk, "me", 1):
        deadline = timezone.now() + timedelta(seconds=2.5)
        while timezone.now() < deadline:
            step.refresh_from_db()
            assert step.lease_expires_at is not None
            assert step.lease_expires_at > timezone.now()
    step.refresh_from_db()
    assert step.status == StepStatus.RUNNING
    assert step.claimed_by == "me"
    # Another worker's claim fails all along: the step was never up for grabs.
    assert not claim_step(step.pk, "other", 1)
