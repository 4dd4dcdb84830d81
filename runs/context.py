"""What a step kind sees while it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runs.lease import extend_lease
from runs.logging import StepLogger
from runs.models import Run, RunStatus, Step


class StepCancelled(Exception):
    """Raised inside a step when its run was cancelled while it was working."""


@dataclass
class StepContext:
    run: Run
    step: Step
    inputs: dict[str, Any]
    log: StepLogger
    claim_token: str
    lease_seconds: int
    dry_run: bool = False
    # Previous steps' outputs by step key (Backstage's `steps['id'].output`).
    step_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    workspace: Any = None

    def heartbeat(self) -> None:
        """Extend the lease of a long step, and stop it if the run was cancelled meanwhile."""
        if self.dry_run:
            return
        if not extend_lease(self.step.pk, self.claim_token, self.lease_seconds):
            raise StepCancelled("the step was taken over or cancelled")
        self.raise_if_cancelled()

    def raise_if_cancelled(self) -> None:
        if self.dry_run:
            return
        status = Run.objects.filter(pk=self.run.pk).values_list("status", flat=True).first()
        if status == RunStatus.CANCELLED:
            raise StepCancelled("the run was cancelled")
