"""Templates: the exact versions runs used, and the ones the platform team published.

The runs themselves (Run, Step, ...) live in runs/models.py.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


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
