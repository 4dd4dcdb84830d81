"""Runs and their steps: the durable state of every provisioning job.

Celery only carries ids; these rows are the truth. See runs/runner.py for the behaviour. The
tables keep the names they had under the scaffolder app (db_table), so moving the models here
moved no data.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import models
from django.db.models import Q
from django.utils import timezone


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL_RUN_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
DONE_STEP_STATUSES = (StepStatus.SUCCEEDED, StepStatus.SKIPPED)


class RunQuerySet(models.QuerySet["Run"]):
    def active(self) -> RunQuerySet:
        return self.filter(status__in=[RunStatus.PENDING, RunStatus.RUNNING])

    def requested_by(self, user: User) -> RunQuerySet:
        return self.filter(requested_by=user)

    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> RunQuerySet:
        """Runs `user` may see: the ones they started (even after leaving the team), their
        teams' (Run.owner_ref) and, for platform admins, all. The team check is a subquery,
        so a list stays one query. runs.permissions.can_view_run is the same rule for
        one loaded run."""
        if not user.is_authenticated:
            return self.none()
        if getattr(user, "is_staff", False):
            return self
        from catalog.queries import group_refs_subquery

        teams = Q(owner_ref__in=group_refs_subquery(user)) & ~Q(owner_ref="")
        return self.filter(Q(requested_by=user.pk) | teams)


class Run(models.Model):
    """One execution of an ordered list of steps (a template run, an infra request, ...)."""

    kind = models.CharField(
        max_length=64, help_text="Which app started it, e.g. scaffolder, infra, demo."
    )
    title = models.CharField(max_length=200)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DB_SET_NULL,
        related_name="runs",
    )
    # What the run acts for (e.g. "catalog.entity:42", "infra.request:7"); used for permissions.
    subject = models.CharField(max_length=200, blank=True, db_index=True)
    owner_ref = models.CharField(
        max_length=300, blank=True, db_index=True, help_text="Catalog group that owns the result."
    )
    inputs = models.JSONField(default=dict, blank=True)
    context = models.JSONField(
        default=dict, blank=True, help_text="Engine context: template, version, output spec."
    )
    outputs = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING, db_index=True
    )
    error = models.TextField(blank=True)
    log_seq = models.PositiveIntegerField(default=0, help_text="Last log line number used.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DB_SET_NULL,
        related_name="+",
    )

    objects = RunQuerySet.as_manager()

    class Meta:
        db_table = "scaffolder_run"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["requested_by", "-created_at"])]

    def __str__(self) -> str:
        return f"Run {self.pk}: {self.title}"

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL_RUN_STATUSES

    @property
    def can_cancel(self) -> bool:
        return self.status in (RunStatus.PENDING, RunStatus.RUNNING)

    @property
    def warnings(self) -> list[dict[str, str]]:
        """What steps finished without ("warnings" in a step's outputs): the run succeeded, but
        something optional (branch protection, team access, topics) is missing."""
        return [
            {"step": step.name, "message": str(message)}
            for step in self.steps.all()
            for message in (step.outputs or {}).get("warnings") or []
        ]

    @property
    def can_retry(self) -> bool:
        return self.status in (RunStatus.FAILED, RunStatus.CANCELLED)

    @property
    def duration(self) -> float | None:
        if not self.started_at:
            return None
        return ((self.finished_at or timezone.now()) - self.started_at).total_seconds()


class Step(models.Model):
    """One step of a run. Claimed atomically by a worker; repeating it must be harmless."""

    run = models.ForeignKey(Run, on_delete=models.DB_CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    key = models.CharField(max_length=100, help_text="The step id, unique within the run.")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=100, help_text="Registered step kind, e.g. fetch:template.")
    inputs = models.JSONField(default=dict, blank=True)
    condition = models.TextField(blank=True, help_text="Optional `if` expression.")
    status = models.CharField(
        max_length=16, choices=StepStatus.choices, default=StepStatus.PENDING, db_index=True
    )
    attempt = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=5)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    not_before = models.DateTimeField(null=True, blank=True, help_text="Earliest next attempt.")
    enqueued_at = models.DateTimeField(null=True, blank=True)
    resolved_inputs = models.JSONField(
        default=dict, blank=True, help_text="Inputs after expressions, secrets redacted."
    )
    outputs = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "scaffolder_step"
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "position"], name="step_unique_position"),
            models.UniqueConstraint(fields=["run", "key"], name="step_unique_key"),
        ]
        indexes = [models.Index(fields=["status", "lease_expires_at"])]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.key} ({self.kind})"

    @property
    def duration(self) -> float | None:
        if not self.started_at:
            return None
        return ((self.finished_at or timezone.now()) - self.started_at).total_seconds()


class RunSecret(models.Model):
    """The values a user typed into a run's secret fields, sealed with the site key.

    Run.inputs keeps only a mask for them. The row lives while a step may still need the values:
    it is deleted when the run succeeds or is cancelled, and a failed run's is purged after
    PAVED_RUN_SECRET_RETENTION_HOURS (a retry after that asks for a new run)."""

    run = models.OneToOneField(Run, on_delete=models.DB_CASCADE, related_name="secret")
    sealed = models.TextField(help_text="Fernet token of a JSON object {field: value}.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "scaffolder_runsecret"

    def __str__(self) -> str:
        return f"secrets of run {self.run_id}"


class LogLevel(models.TextChoices):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class RunLogLine(models.Model):
    """One log line of a run, numbered per run so that pages can poll with a cursor."""

    # DB-level cascade: deleting an old run must not load its log lines into memory.
    run = models.ForeignKey(Run, on_delete=models.DB_CASCADE, related_name="log_lines")
    step = models.ForeignKey(
        Step, null=True, blank=True, on_delete=models.DB_SET_NULL, related_name="log_lines"
    )
    seq = models.PositiveIntegerField()
    level = models.CharField(max_length=8, choices=LogLevel.choices, default=LogLevel.INFO)
    message = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "scaffolder_runlogline"
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="log_unique_seq")]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.seq} {self.level} {self.message[:60]}"


class ProvisionedResource(models.Model):
    """Something outside Paved that a run created (a repository, a namespace, an Argo CD
    application), recorded before the step writes it: it names the owning team for later
    authorization checks, reserves the name against other teams, and lets a retry of the same
    step recognise its own work (runs/authority.py)."""

    kind = models.CharField(max_length=32, help_text="repository, branch, namespace, application")
    key = models.CharField(
        max_length=400, help_text="owner/repo, owner/repo#branch, environment/name (lower case)"
    )
    owner_ref = models.CharField(max_length=300, blank=True, db_index=True)
    run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.DB_SET_NULL, related_name="provisioned"
    )
    step_key = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    attempted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the step first asked the outside system to create it (set before the "
        "call): a retry of that step finishes what it finds instead of refusing it.",
    )

    class Meta:
        db_table = "scaffolder_provisionedresource"
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="provisioned_resource_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.owner_ref or 'no team'})"
