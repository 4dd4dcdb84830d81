"""Delivery events (raw and normalized), rollups, platform usage and the quarterly survey.

Raw events are kept exactly as received (idempotent by source + delivery id); the normalized
Deployment, Change and Incident rows are what the DORA calculations read. Every normalized row
keeps the component name it arrived with (`component_key`, lower case) so metrics work even
before the component is mapped to a catalog entity.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from catalog.models import Entity

# Upper edges (hours) of the histogram buckets used by rollups for medians; the last is open.
HOUR_BUCKETS: tuple[float, ...] = (0.25, 0.5, 1, 2, 4, 8, 16, 24, 48, 96, 168, 336, 720, 2160)
N_BUCKETS = len(HOUR_BUCKETS) + 1


class RawEventStatus(models.TextChoices):
    PROCESSED = "processed", "Processed"
    UNLINKED = "unlinked", "Not linked to a component"
    INVALID = "invalid", "Invalid"
    IGNORED = "ignored", "Ignored (not a delivery event)"


class RawEvent(models.Model):
    """An inbound event exactly as received; the unique (source, delivery_id) makes replays no-ops."""

    source = models.CharField(max_length=32)  # the unique (source, delivery_id) index serves it
    delivery_id = models.CharField(max_length=300)
    event_type = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(null=True, blank=True)
    body = models.TextField(blank=True, help_text="Raw body when it was not valid JSON.")
    headers = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=RawEventStatus.choices, default=RawEventStatus.PROCESSED
    )
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "delivery_id"], name="rawevent_delivery_unique"
            )
        ]
        indexes = [models.Index(fields=["status", "-received_at"])]

    def __str__(self) -> str:
        return f"{self.source}:{self.delivery_id}"


class DeploymentStatus(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"


class Deployment(models.Model):
    """One deployment of a component to an environment (normalized from any source)."""

    external_id = models.CharField(max_length=300, unique=True)
    source = models.CharField(max_length=32, default="api")
    component = models.ForeignKey(
        Entity, null=True, blank=True, on_delete=models.SET_NULL, related_name="deployments"
    )
    component_name = models.CharField(max_length=253)
    component_key = models.CharField(max_length=253, help_text="Lower-case component name.")
    environment = models.CharField(max_length=64, default="production")
    status = models.CharField(max_length=16, choices=DeploymentStatus.choices)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField()
    commit_sha = models.CharField(max_length=64, blank=True)
    is_rollback = models.BooleanField(default=False)
    is_hotfix = models.BooleanField(default=False)
    undone_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="undid",
        help_text="The later rollback/hotfix deployment that undid this one.",
    )
    extra = models.JSONField(default=dict, blank=True)
    raw = models.ForeignKey(RawEvent, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-finished_at"]
        indexes = [
            models.Index(fields=["component_key", "environment", "status", "finished_at"]),
            models.Index(fields=["environment", "status", "finished_at"]),
            models.Index(fields=["component", "environment", "finished_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.component_name}@{self.environment} {self.external_id}"

    @property
    def is_unplanned(self) -> bool:
        return self.is_rollback or self.is_hotfix


class Change(models.Model):
    """A commit of a component, with the first successful production deployment that shipped it."""

    # Changes arrive five or more per deployment, so their foreign keys carry no database
    # constraint: PostgreSQL would check each one at commit, which costs more than the insert.
    # Ingestion only writes ids it has just read or inserted in the same transaction, and
    # Django's collector still applies on_delete.
    component = models.ForeignKey(
        Entity,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="changes",
        db_constraint=False,
    )
    component_name = models.CharField(max_length=253)
    component_key = models.CharField(max_length=253)
    sha = models.CharField(max_length=64)
    committed_at = models.DateTimeField()
    # Denormalized for rollups: maintained whenever a successful production deployment links it.
    first_prod_deployment = models.ForeignKey(
        Deployment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    first_prod_deployed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["component_key", "sha"], name="change_component_sha")
        ]
        # Lookups by component and commit time (inferring a deployment's commits) scan the
        # component's part of the unique (component_key, sha) index: rare, and one index fewer
        # to keep in step with millions of inserts.
        indexes = [
            models.Index(fields=["component_key", "first_prod_deployed_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.component_name}@{self.sha[:10]}"


class DeploymentCommit(models.Model):
    """Which commits a deployment shipped (listed by the event, or inferred)."""

    # No database constraints, like Change's (see there); the unique index below leads with
    # deployment, so that column needs no index of its own.
    deployment = models.ForeignKey(
        Deployment,
        on_delete=models.CASCADE,
        related_name="links",
        db_constraint=False,
        db_index=False,
    )
    change = models.ForeignKey(
        Change, on_delete=models.CASCADE, related_name="links", db_constraint=False
    )
    inferred = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deployment", "change"], name="deploymentcommit_unique")
        ]

    def __str__(self) -> str:
        return f"{self.deployment_id}->{self.change_id}"


class Incident(models.Model):
    """A production incident; `attributed_deployment` is the deployment counted as its cause."""

    external_id = models.CharField(max_length=300, unique=True)
    source = models.CharField(max_length=32, default="api")
    title = models.CharField(max_length=500, blank=True)
    component = models.ForeignKey(
        Entity, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    component_name = models.CharField(max_length=253)
    component_key = models.CharField(max_length=253)
    # Null while only a "resolved" event has arrived (out of order); filled by the trigger.
    started_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    deployment_ref = models.CharField(
        max_length=300, blank=True, help_text="External id of the deployment named as the cause."
    )
    attributed_deployment = models.ForeignKey(
        Deployment, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    attributed_explicitly = models.BooleanField(default=False)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["component_key", "started_at"])]

    def __str__(self) -> str:
        return f"{self.component_name} {self.external_id}"

    @property
    def recovery_hours(self) -> float | None:
        if self.started_at is None or self.resolved_at is None:
            return None
        return (self.resolved_at - self.started_at).total_seconds() / 3600


class DailyRollup(models.Model):
    """Per (scope, environment, day) counts for fast dashboards.

    scope is "org", "team:<owner_ref>" or "component:<component_key>". Histogram columns
    (lt_b0.., rt_b0..) count lead times / recovery times per HOUR_BUCKETS bucket so medians can
    be estimated from sums without touching the base tables.
    """

    scope = models.CharField(max_length=420)
    owner_ref = models.CharField(max_length=400, blank=True, help_text="Component rows only.")
    environment = models.CharField(max_length=64)
    day = models.DateField()
    deployments = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    unplanned = models.PositiveIntegerField(default=0)
    lead_times = models.PositiveIntegerField(default=0)
    lead_time_hours_sum = models.FloatField(default=0)
    recoveries = models.PositiveIntegerField(default=0)
    recovery_hours_sum = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "environment", "day"], name="rollup_unique")
        ]
        indexes = [
            # The refresh re-sums team and org rows by (environment, day).
            models.Index(fields=["environment", "day"], name="rollup_env_day"),
            # The organisation page's Teams table: team rows only (a tenth of the rows).
            models.Index(
                fields=["environment", "day"],
                condition=models.Q(scope__startswith="team:"),
                name="rollup_team_rows",
            ),
            # A team page's Components table: the rows of that team's components.
            models.Index(fields=["owner_ref", "environment", "day"], name="rollup_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.environment} {self.day}"


for _i in range(N_BUCKETS):
    DailyRollup.add_to_class(f"lt_b{_i}", models.PositiveIntegerField(default=0))
for _i in range(N_BUCKETS):
    DailyRollup.add_to_class(f"rt_b{_i}", models.PositiveIntegerField(default=0))


class DirtyDay(models.Model):
    """A (component_key, environment, day) whose rollup must be recomputed (incremental refresh)."""

    component_key = models.CharField(max_length=253)
    environment = models.CharField(max_length=64)
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["component_key", "environment", "day"], name="dirtyday_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.component_key} {self.environment} {self.day}"


class DailyActiveUser(models.Model):
    """One row per signed-in user per day they used the portal."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="dau_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}"


class SurveyResponse(models.Model):
    """One developer's answer (or dismissal) for one quarter, e.g. "2026-Q4"."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    quarter = models.CharField(max_length=7)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    improvement = models.TextField(blank=True)
    dismissed = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "quarter"], name="survey_once_per_quarter"),
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__lte=10),
                name="survey_score_0_10",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.quarter}"


class WeeklyReport(models.Model):
    """The Monday report: metric values for the previous ISO week, as rendered and sent."""

    week_start = models.DateField(unique=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    emailed_to = models.JSONField(default=list, blank=True)
    slack_status = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-week_start"]

    def __str__(self) -> str:
        return f"Week of {self.week_start}"


# Scorecards live in their own subpackage; importing them here makes them metrics models.
from metrics.scorecards.models import (  # noqa: E402, F401
    Check,
    Level,
    Outcome,
    Scorecard,
    ScorecardResult,
    ScorecardSnapshot,
)
