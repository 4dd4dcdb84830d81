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
