"""Runs and their steps: the durable state of every provisioning job.

Celery only carries ids; these rows are the truth. See scaffolder/engine/ for the behaviour.
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
        so a list stays one query. scaffolder.permissions.can_view_run is the same rule for
        one loaded run."""
        if not user.is_authenticated:
            return self.none()
        if getattr(user, "is_staff", False):
            return self
        from catalog.services import group_refs_subquery

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
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="log_unique_seq")]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.seq} {self.level} {self.message[:60]}"


class TemplateVersion(models.Model):
    """One exact version of a software template, as runs used it.

    The catalog Entity (kind=Template) is the source of truth for what templates exist; every
    distinct content gets a version row here, so a run records precisely what it executed even
    after the template changes (Run.context["template"]["version_id"])."""

    entity = models.ForeignKey(
        "catalog.Entity",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="template_versions",
    )
    ref = models.CharField(max_length=400, db_index=True, help_text="template:namespace/name")
    version = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    yaml_text = models.TextField(help_text="The template document (YAML).")
    definition = models.JSONField(default=dict, help_text="The parsed, validated document.")
    base_dir = models.CharField(
        max_length=500, blank=True, help_text="Folder that relative urls (./skeleton) resolve in."
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["ref", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["ref", "version"], name="template_version_unique"),
            models.UniqueConstraint(fields=["ref", "content_hash"], name="template_content_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.ref} v{self.version}"


class TemplatePublication(models.Model):
    """A template saved in Paved by the platform team (Django admin, built-in or demo
    templates): offered to everyone, and the one kind of template whose relative urls may
    read from a folder on the server. Templates from catalog locations are published by
    approving their location instead (catalog.Location.approved_at)."""

    entity = models.OneToOneField(
        "catalog.Entity", on_delete=models.CASCADE, related_name="template_publication"
    )
    base_dir = models.CharField(
        max_length=500, blank=True, help_text="Folder that relative urls (./skeleton) resolve in."
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"publication of entity {self.entity_id}"


class ProvisionedResource(models.Model):
    """Something outside Paved that a run created (a repository, a namespace, an Argo CD
    application), recorded before the step writes it: it names the owning team for later
    authorization checks, reserves the name against other teams, and lets a retry of the same
    step recognise its own work (scaffolder/engine/authority.py)."""

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
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="provisioned_resource_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.owner_ref or 'no team'})"


class ProvenanceSource(models.TextChoices):
    SCAFFOLDED = "scaffolded", "Made by a template run"
    ADOPTED = "adopted", "Adopted (linked by its owner)"


class ServiceProvenance(models.Model):
    """Which template version a repository was made from (or adopted to), and with which
    values: what an upgrade renders as its base. Secret values are never stored here."""

    repository = models.CharField(max_length=300, unique=True, help_text="owner/name, lower case")
    git_host = models.CharField(max_length=32, help_text="The git host's provider name.")
    entity_ref = models.CharField(max_length=400, blank=True, db_index=True)
    owner_ref = models.CharField(max_length=300, blank=True, db_index=True)
    template_ref = models.CharField(max_length=400, db_index=True)
    version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="+")
    values = models.JSONField(default=dict, blank=True, help_text="Non-secret parameter values.")
    # What the original run's non-file steps answered (on-call ids, repository urls...), so a
    # re-rendering writes the same files the run wrote without calling anything outside.
    step_outputs = models.JSONField(default=dict, blank=True)
    render_context = models.JSONField(
        default=dict, blank=True, help_text="user, platform and task id the run rendered with"
    )
    source = models.CharField(
        max_length=16, choices=ProvenanceSource.choices, default=ProvenanceSource.SCAFFOLDED
    )
    # Only the id: runs are deleted database-side (DB_CASCADE), which a foreign key with a
    # Python-level on_delete next to them would not allow.
    run_pk = models.PositiveBigIntegerField(null=True, blank=True, help_text="Run id.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    version_since = models.DateTimeField(
        default=timezone.now, help_text="When the service came to its current version."
    )

    class Meta:
        ordering = ["repository"]

    def __str__(self) -> str:
        return f"{self.repository} from {self.template_ref} v{self.version_id}"


class UpgradeState(models.TextChoices):
    WAITING = "waiting", "Waiting for the owner's answers"
    RUNNING = "running", "Running"
    UP_TO_DATE = "up-to-date", "Up to date"
    OPEN = "open", "PR open"
    CONFLICTS = "conflicts", "PR open, with conflicts"
    MERGED = "merged", "Merged"
    DECLINED = "declined", "Declined"
    FAILED = "failed", "Failed"


class TemplateUpgrade(models.Model):
    """One service's upgrade from one template version to another: its run and pull request."""

    provenance = models.ForeignKey(
        ServiceProvenance, on_delete=models.CASCADE, related_name="upgrades"
    )
    from_version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="+")
    to_version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        max_length=16, choices=UpgradeState.choices, default=UpgradeState.RUNNING, db_index=True
    )
    answers = models.JSONField(default=dict, blank=True, help_text="Values for new parameters.")
    missing = models.JSONField(default=list, blank=True, help_text="Required answers not given.")
    # Only the id: runs are deleted database-side (DB_CASCADE), which a foreign key with a
    # Python-level on_delete next to them would not allow.
    run_pk = models.PositiveBigIntegerField(null=True, blank=True, help_text="Run id.")
    branch = models.CharField(max_length=200, blank=True)
    pull_number = models.PositiveIntegerField(null=True, blank=True)
    pull_url = models.CharField(max_length=500, blank=True)
    conflicts = models.JSONField(default=list, blank=True)
    changed = models.JSONField(default=list, blank=True, help_text="Paths the PR changes.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provenance", "to_version"], name="template_upgrade_unique_target"
            )
        ]

    def __str__(self) -> str:
        return f"upgrade of {self.provenance.repository} to v{self.to_version_id}: {self.state}"


class TemplateSnapshot(models.Model):
    """The files in a template version's folder (its skeleton), as they were when the version
    was recorded: an upgrade renders the old version from these, not from today's folder."""

    version = models.OneToOneField(
        TemplateVersion, on_delete=models.CASCADE, related_name="snapshot"
    )
    files = models.JSONField(default=dict, help_text="path -> base64 of the bytes")
    tree_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"files of template version {self.version_id}"
