"""The software catalog: Backstage-compatible entities and the relations between them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


def make_ref(kind: str, namespace: str, name: str) -> str:
    """Backstage's entity reference, compared case-insensitively: ``kind:namespace/name``."""
    return f"{kind}:{namespace}/{name}".lower()


class Entity(models.Model):
    """One catalog entity (Component, API, Resource, System, Domain, Group, User, Location,
    Template) in Backstage's envelope; columns mirror the fields pages filter on."""

    kind = models.CharField(max_length=63, db_index=True)
    namespace = models.CharField(max_length=63, default="default")
    name = models.CharField(max_length=253)
    ref = models.CharField(max_length=400, unique=True, help_text="kind:namespace/name, lower case")
    api_version = models.CharField(max_length=100, default="backstage.io/v1alpha1")
    title = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    spec_type = models.CharField(max_length=100, blank=True, db_index=True)
    lifecycle = models.CharField(max_length=100, blank=True, db_index=True)
    owner_ref = models.CharField(max_length=400, blank=True, db_index=True)
    tags = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    spec = models.JSONField(default=dict, blank=True)
    # For kind=User: the portal account that signs in as this person.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="catalog_entity",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "entities"
        ordering = ["kind", "namespace", "name"]
        indexes = [models.Index(fields=["kind", "name"])]

    def __str__(self) -> str:
        return self.ref

    def save(self, *args: object, **kwargs: object) -> None:
        self.ref = make_ref(self.kind, self.namespace, self.name)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def display_name(self) -> str:
        return self.title or self.name


class Relation(models.Model):
    """A directed relation between entities (ownedBy, memberOf, dependsOn, ...).

    The target is kept as a reference even when no such entity exists, so that a dangling
    reference is shown as missing rather than dropped."""

    source = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="relations")
    type = models.CharField(max_length=50)
    target_ref = models.CharField(max_length=400, db_index=True)
    target = models.ForeignKey(
        Entity, null=True, blank=True, on_delete=models.SET_NULL, related_name="incoming"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "type", "target_ref"], name="relation_unique")
        ]
        indexes = [models.Index(fields=["type", "target_ref"])]

    def __str__(self) -> str:
        return f"{self.source.ref} {self.type} {self.target_ref}"
