"""The run engine: start, claim, execute, advance, cancel, retry and recover runs.

State lives in Run/Step rows. Every transition is a conditional UPDATE (compare-and-swap), so
a duplicate Celery delivery, a second worker or a crashed worker can never run a step twice at
the same time, and a step whose worker died is taken over once its lease expires.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from portal import audit
from portal.lib.redaction import redact, redact_data
from portal.notifications import notify
from portal.providers.base import PermanentProviderError, TransientProviderError
from runs import secrets
from runs.authority import NotAuthorized, authorize
from runs.context import StepCancelled, StepContext
from runs.lease import LeaseKeeper, lease_seconds
from runs.logging import StepLogger, append_log
from runs.models import DONE_STEP_STATUSES, Run, RunStatus, Step, StepStatus
from runs.registry import StepInputError, StepKind, get_step_kind, run_kind_hooks
from runs.stepping import PreparedStep, perform_step, prepare_step, shown_inputs
from runs.workspace import workspace_for_run, workspace_path

logger = logging.getLogger(__name__)

ACTIVE_RUN_STATUSES = (RunStatus.PENDING, RunStatus.RUNNING)
MAX_BACKOFF_SECONDS = 300


# The database connection failed (server gone, link cut): not the step's fault. The step is left
# as it is, and its lease or the recovery job brings it back once the database answers.
DATABASE_GONE = (OperationalError, InterfaceError)


def database_gone(what: str, exc: BaseException) -> str:
    """Log in one line that `what` stopped because the database went away; no traceback."""
    reason = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
    logger.warning(
        "%s stopped: the database is unreachable (%s: %s); the recovery job picks it up again "
        "once the database is back",
        what, exc.__class__.__name__, reason,
    )  # fmt: skip
    with contextlib.suppress(DatabaseError):
        connection.close()
    return "database-unreachable"


class RunStartError(ValueError):
    """The run cannot start; `problems` says why, one line per problem. Nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class RunStateError(ValueError):
    """The requested action does not fit the run's current state (e.g. retrying a success)."""


@dataclass(frozen=True)
class StepSpec:
    """A step to create: its id, display name, kind and (possibly templated) inputs."""

    key: str
    kind: str
    name: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    condition: str = ""


# --- enqueueing ------------------------------------------------------------------------------


# Messages that could not be sent while `watch_enqueue()` was watching (None: nobody watches).
_unsent: ContextVar[list[str] | None] = ContextVar("paved_unsent_messages", default=None)


@contextmanager
def watch_enqueue() -> Iterator[list[str]]:
    """Collect the tasks that could not be sent inside the block (the broker was unreachable),
    so that a page can say the run is queued rather than started."""
    unsent: list[str] = []
    token = _unsent.set(unsent)
    try:
        yield unsent
    finally:
        _unsent.reset(token)


def _enqueue(
    task_name: str,
    *args: Any,
    countdown: float | None = None,
    if_unsent: Callable[[], None] | None = None,
) -> None:
    """Send a task once the current transaction commits (never for uncommitted rows).

    The rows are committed by then, so a broker that cannot be reached must not undo or fail
    what the caller did: the failure is logged, and the recovery job sends the message again
    once the step has waited PAVED_STEP_REQUEUE_SECONDS (or at once, if it was never sent)."""
    from portal.celery import app

    def send() -> None:
        try:
            app.send_task(task_name, args=list(args), countdown=countdown)
        except Exception as exc:
            reason = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
            logger.warning(
                "could not send %s%r to the broker (%s: %s); the recovery job will send it "
                "again when the broker is back",
                task_name, tuple(args), exc.__class__.__name__, reason,
            )  # fmt: skip
            unsent = _unsent.get()
            if unsent is not None:
                unsent.append(task_name)
            if if_unsent is not None:
                if_unsent()

    transaction.on_commit(send)


def enqueue_advance(run_id: int) -> None:
    _enqueue("scaffolder.advance_run", run_id)


def enqueue_step(step_id: int, countdown: float | None = None) -> None:
    Step.objects.filter(pk=step_id).update(enqueued_at=timezone.now())

    def never_sent() -> None:
        # Not sent at all: the recovery job's next pass sends it, without waiting
        # PAVED_STEP_REQUEUE_SECONDS for a message that does not exist.
        with contextlib.suppress(DatabaseError):
            Step.objects.filter(pk=step_id, status=StepStatus.PENDING).update(enqueued_at=None)

    _enqueue("scaffolder.execute_step", step_id, countdown=countdown, if_unsent=never_sent)


# --- starting ----------------------------------------------------------------------------------


def has_expressions(value: Any) -> bool:
    if isinstance(value, str):
        return "${{" in value
    if isinstance(value, list):
        return any(has_expressions(item) for item in value)
    if isinstance(value, dict):
        return any(has_expressions(item) for item in value.values())
    return False


def validate_step_specs(steps: list[StepSpec]) -> None:
    """Check kinds and static inputs before anything is written; raise RunStartError."""
    problems: list[str] = []
    seen: set[str] = set()
    if not steps:
        problems.append("a run needs at least one step")
    for position, spec in enumerate(steps, start=1):
        label = f"step {position} ({spec.key or '?'})"
        if not spec.key:
            problems.append(f"{label}: has no id")
        elif spec.key in seen:
            problems.append(f"{label}: id {spec.key!r} is used twice")
        seen.add(spec.key)
        try:
            kind = get_step_kind(spec.kind)
        except KeyError as exc:
            problems.append(f"{label}: {exc.args[0]}")
            continue
        if not has_expressions(spec.inputs):
            try:
                kind.validate_inputs(spec.inputs)
            except StepInputError as exc:
                problems.extend(f"{label}: {problem}" for problem in exc.problems)
    if problems:
        raise RunStartError(problems)


def start_run(
    *,
    kind: str,
    title: str,
    steps: list[StepSpec],
    actor: User | None,
    inputs: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    subject: str = "",
    owner_ref: str = "",
    secret_fields: set[str] | frozenset[str] = frozenset(),
) -> Run:
    """Create a run and its steps in one transaction and enqueue it once committed.

    Inputs named in `secret_fields` are stored sealed apart from the run (see engine.secrets);
    Run.inputs keeps a mask in their place."""
    validate_step_specs(steps)
    stored_inputs, secret_values = secrets.split_secrets(inputs or {}, secret_fields)
    context = dict(context or {})
    if secret_values:
        context[secrets.SECRET_FIELDS_KEY] = sorted(secret_values)
    with transaction.atomic():
        run = Run.objects.create(
            kind=kind,
            title=title[:200],
            requested_by=actor,
            inputs=stored_inputs,
            context=context,
            subject=subject,
            owner_ref=owner_ref,
        )
        secrets.store_run_secrets(run, secret_values)
        Step.objects.bulk_create(
            Step(
                run=run,
                position=position,
                key=spec.key,
                name=spec.name or spec.key,
                kind=spec.kind,
                inputs=spec.inputs,
                condition=spec.condition,
                max_attempts=settings.PAVED_STEP_MAX_ATTEMPTS,
            )
            for position, spec in enumerate(steps)
        )
        who = actor.get_username() if actor else "the platform"
        append_log(run.pk, f"Run requested by {who}: {len(steps)} step(s).")
        audit.record(
            actor=actor,
            action="run.started",
            target=run,
            summary=f"{kind} run with steps {', '.join(s.key for s in steps)}",
            after={"inputs": run.inputs, "owner": owner_ref, "subject": subject},
        )
        enqueue_advance(run.pk)
    return run


# --- advancing ---------------------------------------------------------------------------------


def advance_run(run_id: int) -> None:
    """Look at the run and do the next thing: enqueue its next step, or finish it."""
    run = Run.objects.filter(pk=run_id).first()
    if run is None or run.is_finished:
        return
    for step in run.steps.order_by("position"):
        if step.status in DONE_STEP_STATUSES:
            continue
        if step.status == StepStatus.FAILED:
            _finish_run(run, RunStatus.FAILED, error=f"Step '{step.name}' failed: {step.error}")
            return
        if step.status == StepStatus.CANCELLED:
            return
        if step.status == StepStatus.RUNNING:
            return  # someone holds it; recovery takes over when the lease expires
        # PENDING: this is the next step.
        if run.status == RunStatus.PENDING:
            Run.objects.filter(pk=run.pk, status=RunStatus.PENDING).update(
                status=RunStatus.RUNNING, started_at=Coalesce(F("started_at"), timezone.now())
            )
        countdown = None
        if step.not_before and step.not_before > timezone.now():
            countdown = (step.not_before - timezone.now()).total_seconds()
        enqueue_step(step.pk, countdown=countdown)
        return
    _finish_run(run, RunStatus.SUCCEEDED)


def _finish_run(run: Run, status: RunStatus, *, error: str = "") -> None:
    with secrets.redacting_run(run):
        _finish_run_redacted(run, status, error=error)


def _finish_run_redacted(run: Run, status: RunStatus, *, error: str = "") -> None:
    hooks = run_kind_hooks(run.kind)
    outputs: dict[str, Any] = {}
    if status == RunStatus.SUCCEEDED and hooks.resolve_outputs is not None:
        try:
            outputs = hooks.resolve_outputs(run)
        except Exception as exc:
            status, error = RunStatus.FAILED, f"Could not compute the run's output: {exc}"
    now = timezone.now()
    # The closing log line commits with the status, so a page that sees the run finished
    # has already got every line.
    with transaction.atomic():
        changed = Run.objects.filter(pk=run.pk, status__in=ACTIVE_RUN_STATUSES).update(
            status=status,
            finished_at=now,
            started_at=Coalesce(F("started_at"), now),
            error=redact(error),
            outputs=redact_data(outputs),
        )
        if not changed:
            return
        if status == RunStatus.SUCCEEDED:
            secrets.discard_run_secrets(run.pk)
            append_log(run.pk, "Run finished: every step succeeded.")
        else:
            append_log(run.pk, f"Run failed. {error}", level="ERROR")
        if hooks.notify_requester and run.requested_by_id is not None:
            _notify_requester(run, status, redact(error))
    if hooks.on_finished is not None:
        # The row now holds what the UPDATE above wrote; set it here instead of reading it back.
        run.status, run.finished_at, run.error = status, now, redact(error)
        run.outputs = redact_data(outputs)
        hooks.on_finished(run)


def _notify_requester(run: Run, status: RunStatus, error: str) -> None:
    done = "finished" if status == RunStatus.SUCCEEDED else str(status.label).lower()
    notify(
        [User.objects.filter(pk=run.requested_by_id or 0).first()],
        kind=f"run.{status}",
        title=f"Run #{run.pk} {done}: {run.title}",
        url=reverse("runs:run-detail", args=[run.pk]),
        body=error,
    )


# --- executing a step --------------------------------------------------------------------------


def _claim_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


_CLAIMED_FIELDS = (
    "status",
    "attempt",
    "lease_expires_at",
    "claimed_by",
    "started_at",
    "not_before",
)


def claim_step(step_id: int, token: str, lease_seconds: int) -> bool:
    """Atomically take a step: pending and due, or running with an expired lease."""
    now = timezone.now()
    runnable = Q(status=StepStatus.PENDING) & (Q(not_before__isnull=True) | Q(not_before__lte=now))
    abandoned = Q(status=StepStatus.RUNNING, lease_expires_at__lt=now)
    active_run_ids = Run.objects.filter(status__in=ACTIVE_RUN_STATUSES).values("pk")
    claimed = (
        Step.objects.filter(pk=step_id, run_id__in=active_run_ids)
        .filter(runnable | abandoned)
        .update(
            status=StepStatus.RUNNING,
            attempt=F("attempt") + 1,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            claimed_by=token,
            started_at=Coalesce(F("started_at"), now),
            not_before=None,
        )
    )
    return claimed == 1


def execute_step(step_id: int) -> str:
    """Run one step if it can be claimed. Returns what happened (for logs and tests)."""
    step = Step.objects.select_related("run").filter(pk=step_id).first()
    if step is None:
        return "missing"
    # Everything written while the step works (log, errors, inputs, outputs, audit) is redacted
    # with the run's secret values too.
    with secrets.redacting_run(step.run):
        return _execute_step(step_id, step)


def _execute_step(step_id: int, step: Step) -> str:
    """Claim the step, resolve and authorize its inputs, run it, record the outcome."""
    claim = _claim(step_id, step)
    if isinstance(claim, str):
        return claim
    prepared = _prepare(step, claim)
    if isinstance(prepared, str):
        return prepared
    if not prepared.should_run:
        Step.objects.filter(pk=step_id, claimed_by=claim.token).update(
            status=StepStatus.SKIPPED, finished_at=timezone.now(), lease_expires_at=None
        )
        claim.log.info("Skipped step '%s': its condition is false.", step.name)
        advance_run(step.run_id)
        return "skipped"
    Step.objects.filter(pk=step_id, claimed_by=claim.token).update(
        resolved_inputs=shown_inputs(claim.kind_cls, prepared)
    )
    outputs = _perform(step, claim, prepared)
    if isinstance(outputs, str):
        return outputs
    return _succeed(step, claim, outputs)


@dataclass
class _Claim:
    """A step this worker holds: its kind, the claim token and lease, its log."""

    kind_cls: type[StepKind]
    token: str
    lease: int
    log: StepLogger


def _claim(step_id: int, step: Step) -> _Claim | str:
    """Take the step (or say why not); the run becomes running with its first claimed step."""
    try:
        kind_cls = get_step_kind(step.kind)
    except KeyError as exc:
        token = _claim_token()
        if claim_step(step_id, token, lease_seconds(None)):
            _fail_step(step_id, token, str(exc.args[0]))
        return "failed"
    token = _claim_token()
    lease = lease_seconds(kind_cls)
    was_running = step.status == StepStatus.RUNNING
    if not claim_step(step_id, token, lease):
        return "not-claimed"
    # Only the claimed columns changed; the run loaded with the step is fresh enough (the claim
    # itself checked that it is still active), so no further reads are needed here.
    run = step.run
    step.refresh_from_db(fields=list(_CLAIMED_FIELDS))
    if run.status == RunStatus.PENDING:
        Run.objects.filter(pk=run.pk, status=RunStatus.PENDING).update(
            status=RunStatus.RUNNING, started_at=Coalesce(F("started_at"), timezone.now())
        )
    log = StepLogger(run.pk, step.pk)
    if was_running:
        log.warning(
            "Taking over step '%s' after its worker stopped answering (attempt %d).",
            step.name,
            step.attempt,
        )
    if step.attempt > step.max_attempts:
        _fail_step(step_id, token, f"gave up after {step.max_attempts} attempts")
        return "failed"
    return _Claim(kind_cls=kind_cls, token=token, lease=lease, log=log)


def _prepare(step: Step, claim: _Claim) -> PreparedStep | str:
    """Resolve the inputs with the run kind's rules and check every item against the kind's
    schema and the requester's authority, before anything is written."""
    run, kind_cls = step.run, claim.kind_cls
    hooks = run_kind_hooks(run.kind)
    try:
        resolved = (
            hooks.resolve_inputs(run, step)
            if hooks.resolve_inputs is not None
            else (dict(step.inputs), True)
        )
        prepared = prepare_step(kind_cls, resolved)
        for item_inputs in prepared.items if prepared.should_run else []:
            # Acts with the requester's authority: refused before anything is written.
            authorize(run, step.key, kind_cls.write_targets(item_inputs, run),
                      internal=kind_cls.internal)  # fmt: skip
    except NotAuthorized as exc:
        _fail_step(step.pk, claim.token, f"not allowed: {exc}")
        audit.record(
            actor=run.requested_by,
            action="step.refused",
            target=step,
            target_label=f"run {run.pk} / {step.key}",
            after={"reason": str(exc)},
        )
        return "failed"
    except StepInputError as exc:
        _fail_step(step.pk, claim.token, f"invalid input: {exc}")
        return "failed"
    except DATABASE_GONE:
        raise
    except Exception as exc:
        _fail_step(step.pk, claim.token, str(exc) or exc.__class__.__name__)
        return "failed"
    return prepared


def _perform(step: Step, claim: _Claim, prepared: PreparedStep) -> dict[str, Any] | str:
    """Run the step under its lease; a failure becomes a retry, a failed step or a stop."""
    run, step_id, token, log = step.run, step.pk, claim.token, claim.log
    outputs_by_key = dict(
        run.steps.filter(status=StepStatus.SUCCEEDED).values_list("key", "outputs")
    )
    ctx = StepContext(
        run=run,
        step=step,
        inputs=prepared.inputs,
        log=log,
        claim_token=token,
        lease_seconds=claim.lease,
        step_outputs=outputs_by_key,
        workspace=workspace_for_run(run),
    )
    if step.attempt == 1:
        log.info("Started step '%s' (%s).", step.name, step.kind)
    else:
        log.info("Started step '%s' (%s), attempt %d.", step.name, step.kind, step.attempt)
    try:
        with LeaseKeeper(step_id, token, claim.lease):
            return perform_step(claim.kind_cls, ctx, prepared)
    except StepCancelled as exc:
        Step.objects.filter(pk=step_id, claimed_by=token).update(
            status=StepStatus.CANCELLED, finished_at=timezone.now(), lease_expires_at=None
        )
        log.warning("Stopped step '%s': %s.", step.name, exc)
        return "cancelled"
    except TransientProviderError as exc:
        return _retry_or_fail(step, token, str(exc), exc.retry_after)
    except SoftTimeLimitExceeded:
        return _retry_or_fail(step, token, "the step ran out of time", None)
    except (PermanentProviderError, StepInputError) as exc:
        _fail_step(step_id, token, str(exc))
        return "failed"
    except DATABASE_GONE:
        raise  # the step is not at fault: its lease expires and another worker takes over
    except Exception as exc:
        logger.exception("step %s (%s) raised", step_id, step.kind)
        where = traceback.extract_tb(exc.__traceback__)[-1:]
        origin = f" (at {os.path.basename(where[0].filename)}:{where[0].lineno})" if where else ""
        _fail_step(step_id, token, f"{exc.__class__.__name__}: {exc}{origin}")
        return "failed"


def _succeed(step: Step, claim: _Claim, outputs: dict[str, Any]) -> str:
    """Store the outputs if this worker still holds the step, then move the run on."""
    stored_outputs = redact_data(outputs)
    finished_at = timezone.now()
    finished = Step.objects.filter(
        pk=step.pk, status=StepStatus.RUNNING, claimed_by=claim.token
    ).update(
        status=StepStatus.SUCCEEDED,
        outputs=stored_outputs,
        finished_at=finished_at,
        lease_expires_at=None,
        error="",
    )
    if not finished:
        claim.log.warning("Step '%s' finished, but another worker had taken it over.", step.name)
        return "lost-lease"
    # What the UPDATE wrote, without reading the row back.
    step.status, step.outputs, step.finished_at = StepStatus.SUCCEEDED, stored_outputs, finished_at
    claim.log.info("Finished step '%s' in %.2f s.", step.name, step.duration or 0.0)
    audit.record(
        actor=None,
        action="step.succeeded",
        target=step,
        target_label=f"run {step.run_id} / {step.key}",
        after={"attempt": step.attempt, "outputs": step.outputs},
    )
    advance_run(step.run_id)
    return "succeeded"


def _retry_or_fail(step: Step, token: str, message: str, retry_after: float | None) -> str:
    log = StepLogger(step.run_id, step.pk)
    step.refresh_from_db(fields=["attempt", "max_attempts"])
    if step.attempt >= step.max_attempts:
        _fail_step(step.pk, token, f"{message} (gave up after {step.attempt} attempts)")
        return "failed"
    base = settings.PAVED_STEP_RETRY_BACKOFF_SECONDS * (2 ** (step.attempt - 1))
    delay = retry_after if retry_after is not None else base * (0.8 + random.random() * 0.4)  # noqa: S311
    delay = max(0.0, min(float(delay), MAX_BACKOFF_SECONDS))
    released = Step.objects.filter(pk=step.pk, status=StepStatus.RUNNING, claimed_by=token).update(
        status=StepStatus.PENDING,
        not_before=timezone.now() + timedelta(seconds=delay),
        lease_expires_at=None,
        claimed_by="",
        error=redact(message),
    )
    if not released:
        return "lost-lease"
    log.warning(
        "Temporary problem: %s. Retrying in %.1f s (attempt %d of %d).",
        message,
        delay,
        step.attempt,
        step.max_attempts,
    )
    enqueue_step(step.pk, countdown=delay)
    return "retrying"


def _fail_step(step_id: int, token: str, message: str) -> None:
    message = redact(message)
    # The failure, its log line and its audit row commit together; if the worker dies before
    # the run is finished, the recovery job finishes it.
    with transaction.atomic():
        failed = Step.objects.filter(
            pk=step_id, status=StepStatus.RUNNING, claimed_by=token
        ).update(
            status=StepStatus.FAILED,
            error=message,
            finished_at=timezone.now(),
            lease_expires_at=None,
        )
        if not failed:
            return
        step = Step.objects.select_related("run").get(pk=step_id)
        append_log(
            step.run_id, f"Step '{step.name}' failed: {message}", level="ERROR", step_id=step_id
        )
        audit.record(
            actor=None,
            action="step.failed",
            target=step,
            target_label=f"run {step.run_id} / {step.key}",
            after={"attempt": step.attempt, "error": message},
        )
    _finish_run(step.run, RunStatus.FAILED, error=f"Step '{step.name}' failed: {message}")


# --- cancel, retry, recover --------------------------------------------------------------------


def cancel_run(run: Run, *, actor: User | None) -> None:
    """Stop a pending or running run. A step already working finishes or notices at its next
    heartbeat; nothing after it starts."""
    with transaction.atomic():
        changed = Run.objects.filter(pk=run.pk, status__in=ACTIVE_RUN_STATUSES).update(
            status=RunStatus.CANCELLED,
            finished_at=timezone.now(),
            cancelled_by=actor,
            error="Cancelled",
        )
        if not changed:
            raise RunStateError("Only a pending or running run can be cancelled.")
        secrets.discard_run_secrets(run.pk)
        Step.objects.filter(run=run, status=StepStatus.PENDING).update(status=StepStatus.CANCELLED)
        who = actor.get_username() if actor else "the platform"
        append_log(run.pk, f"Run cancelled by {who}.", level="WARNING")
        audit.record(
            actor=actor,
            action="run.cancelled",
            target=run,
            before={"status": run.status},
            after={"status": RunStatus.CANCELLED},
        )
    hooks = run_kind_hooks(run.kind)
    if hooks.on_finished is not None:
        run.refresh_from_db()
        hooks.on_finished(run)


def retry_run(run: Run, *, actor: User | None, from_step: str | None = None) -> Step:
    """Run a failed or cancelled run again from `from_step` (default: the first unfinished
    step). Earlier steps keep their outputs; that step and every later one start afresh."""
    with transaction.atomic():
        locked = Run.objects.select_for_update().get(pk=run.pk)
        if locked.status not in (RunStatus.FAILED, RunStatus.CANCELLED):
            raise RunStateError("Only a failed or cancelled run can be retried.")
        steps = list(locked.steps.order_by("position"))
        if from_step:
            start = next((s for s in steps if s.key == from_step), None)
            if start is None:
                raise RunStateError(f"The run has no step {from_step!r}.")
        else:
            start = next((s for s in steps if s.status not in DONE_STEP_STATUSES), None)
            if start is None:
                raise RunStateError("Every step already succeeded; there is nothing to retry.")
        if any(s.status == StepStatus.RUNNING for s in steps):
            raise RunStateError("A step is still running; wait for it to stop before retrying.")
        if secrets.has_secrets(locked):
            try:
                secrets.run_secrets(locked)
            except secrets.RunSecretsGone as exc:
                raise RunStateError(f"This run cannot be retried: {exc}.") from None
        redo = _workspace_writers_to_redo(locked, steps, start)
        Step.objects.filter(
            Q(position__gte=start.position) | Q(pk__in=[s.pk for s in redo]), run=locked
        ).update(
            status=StepStatus.PENDING,
            attempt=0,
            error="",
            not_before=None,
            lease_expires_at=None,
            claimed_by="",
            started_at=None,
            finished_at=None,
            outputs={},
        )
        Run.objects.filter(pk=locked.pk).update(
            status=RunStatus.RUNNING, finished_at=None, error="", cancelled_by=None, outputs={}
        )
        who = actor.get_username() if actor else "the platform"
        append_log(locked.pk, f"Retry requested by {who}, from step '{start.name}'.")
        if redo:
            names = ", ".join(f"'{s.name}'" for s in redo)
            append_log(
                locked.pk,
                f"The run's workspace was removed (older than the retention); {names} "
                "will run again first to recreate it.",
                level="WARNING",
            )
        audit.record(
            actor=actor,
            action="run.retried",
            target=locked,
            summary=f"from step {start.key}",
            before={"status": locked.status},
            after={"status": RunStatus.RUNNING, "from_step": start.key},
        )
        enqueue_advance(locked.pk)
    return start


def _workspace_writers_to_redo(run: Run, steps: list[Step], start: Step) -> list[Step]:
    """Finished steps before `start` that wrote the workspace, when the workspace is gone
    (collected after PAVED_WORKSPACE_RETENTION_HOURS): running them again recreates the files
    later steps read. Steps in between keep their results (they are idempotent anyway)."""
    if workspace_path(run).exists():
        return []
    redo = []
    for step in steps:
        if step.position >= start.position or step.status not in DONE_STEP_STATUSES:
            continue
        try:
            kind = get_step_kind(step.kind)
        except KeyError:
            continue
        if kind.writes_workspace:
            redo.append(step)
    return redo


def recover_stalled_steps() -> int:
    """Re-enqueue work whose message was lost or whose worker died. Returns how many."""
    now = timezone.now()
    requeue_before = now - timedelta(seconds=settings.PAVED_STEP_REQUEUE_SECONDS)
    recovered = 0
    # Steps held by a dead worker: the claim takes them over once the lease has expired.
    expired = Step.objects.filter(
        status=StepStatus.RUNNING,
        lease_expires_at__lt=now,
        run__status__in=ACTIVE_RUN_STATUSES,
    ).values_list("pk", flat=True)
    for step_id in expired:
        with transaction.atomic():
            enqueue_step(step_id)
        recovered += 1
    # Steps whose run was cancelled while a worker held them and then died.
    Step.objects.filter(
        status=StepStatus.RUNNING,
        lease_expires_at__lt=now,
        run__status__in=[RunStatus.CANCELLED, RunStatus.FAILED],
    ).update(status=StepStatus.CANCELLED, lease_expires_at=None)
    # Active runs whose next message vanished (e.g. a broker restart without persistence).
    active = (
        Run.objects.filter(status__in=ACTIVE_RUN_STATUSES)
        .exclude(steps__status=StepStatus.RUNNING)
        .prefetch_related("steps")
    )
    for run in active:
        upcoming = next((s for s in run.steps.all() if s.status not in DONE_STEP_STATUSES), None)
        # A failed step in an active run: its worker died between recording the failure and
        # finishing the run. Advancing finishes it (failed) now.
        due = (
            upcoming is None
            or upcoming.status == StepStatus.FAILED
            or (
                upcoming.status == StepStatus.PENDING
                and (upcoming.enqueued_at is None or upcoming.enqueued_at < requeue_before)
                and (upcoming.not_before is None or upcoming.not_before <= now)
            )
        )
        if due:
            with transaction.atomic():
                advance_run(run.pk)
            recovered += 1
    return recovered
