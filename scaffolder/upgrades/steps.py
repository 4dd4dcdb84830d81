"""The "upgrade" run kind and its one step: deliver a template upgrade as a pull request."""

from __future__ import annotations

from typing import Any, ClassVar

from portal.providers.base import PermanentProviderError
from runs.authority import PULL_REQUEST, Write
from runs.context import StepContext
from runs.models import Run, RunStatus
from runs.registry import (
    OUTSIDE,
    RunKindHooks,
    StepKind,
    register_run_kind,
    register_step,
)
from scaffolder.models import TemplateUpgrade, UpgradeState
from scaffolder.upgrades.services import RUN_KIND, STEP_KIND, deliver


def _upgrade_for(inputs: dict[str, Any], run: Run) -> TemplateUpgrade:
    # Only an upgrade run may run this step: a template naming it gets a refusal.
    upgrade = (
        TemplateUpgrade.objects.select_related("provenance__version", "to_version", "from_version")
        .filter(pk=inputs["upgrade"], run_pk=run.pk)
        .first()
    )
    if run.kind != RUN_KIND or upgrade is None:
        raise PermanentProviderError(f"{STEP_KIND} runs only in the upgrade run Paved started")
    return upgrade


@register_step
class UpgradePullRequest(StepKind):
    """Merge the new template version into the service's repository and open (or update) the
    upgrade pull request. The only write is the upgrade branch and its pull request."""

    name = STEP_KIND
    title = "Deliver a template upgrade as a pull request"
    writes = OUTSIDE
    internal = True  # only the upgrade run names it; a template cannot
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["upgrade"],
        "properties": {"upgrade": {"type": "integer"}},
        "additionalProperties": False,
    }

    @classmethod
    def write_targets(cls, inputs: dict[str, Any], run: Run) -> list[Write]:
        upgrade = _upgrade_for(inputs, run)
        return [Write(PULL_REQUEST, name=upgrade.provenance.repository)]

    def run(self, ctx: StepContext) -> dict[str, Any]:
        return deliver(_upgrade_for(ctx.inputs, ctx.run), ctx.run, ctx.log)


def on_finished(run: Run) -> None:
    if run.status in (RunStatus.FAILED, RunStatus.CANCELLED):
        TemplateUpgrade.objects.filter(run_pk=run.pk).exclude(
            state__in=[UpgradeState.MERGED, UpgradeState.UP_TO_DATE]
        ).update(state=UpgradeState.FAILED)


register_run_kind(RUN_KIND, RunKindHooks(on_finished=on_finished))
