"""The software catalog: Backstage-compatible entities and the relations between them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone


def make_ref(kind: str, namespace: str, name: str) -> str:
    """Backstage's entity reference, compared case-insensitively: ``kind:namespace/name``."""
    return f"{kind}:{namespace}/{name}".lower()


class ExtraKind(models.Model):
    """A kind beyond Backstage's nine core kinds, registered by the platform team in admin.

    Documents of unregistered kinds are rejected; a registered kind is checked for the envelope,
    its apiVersion and the spec fields listed as required."""

    kind = models.CharField(
        max_length=63, unique=True, help_text="e.g. AiResource (case-sensitive)"
    )
    api_versions = models.CharField(
        max_length=400,
        default="backstage.io/v1alpha1,backstage.io/v1beta1",
        help_text="Comma-separated apiVersions this kind accepts",
    )
    required_spec_fields = models.CharField(
        max_length=400, blank=True, help_text="Comma-separated spec fields that must be present"
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.kind

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from catalog.validation import CORE_KINDS, is_valid_kind

        if not is_valid_kind(self.kind):
            raise ValidationError({"kind": "A kind is a letter followed by letters and digits."})
        if self.kind in CORE_KINDS:
            raise ValidationError({"kind": f"{self.kind} is a core kind already."})


class Location(models.Model):
    """Where entities come from: a file path, a URL, or a repository of the configured git host.

    Each refresh re-reads the location (and the Location entities it points to); entities it no
    longer yields are marked orphaned and deleted after a grace period."""

    class Type(models.TextChoices):
        FILE = "file", "File path"
        URL = "url", "URL"
        REPO = "repo", "Git repository"

    type = models.CharField(max_length=10, choices=Type.choices)
    target = models.CharField(max_length=1000, help_text="path, URL, or owner/name[/path]")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    errors = models.JSONField(default=list, blank=True, help_text="problems reading this location")
    entity_count = models.PositiveIntegerField(default=0)
    # Templates are put in front of other people only from locations a platform admin
    # registered or approved (docs/security.md, "Template publishers").
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a platform admin approved its Templates for everyone.",
    )

    class Meta:
        ordering = ["type", "target"]
        constraints = [
            models.UniqueConstraint(fields=["type", "target"], name="location_unique_target")
        ]

    def __str__(self) -> str:
        return f"{self.type}:{self.target}"

    @property
    def ref(self) -> str:
        return str(self)

    @property
    def is_approved(self) -> bool:
        return self.approved_at is not None


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
    # Ingestion bookkeeping.
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="entities"
    )
    source = models.CharField(
        max_length=1000, blank=True, help_text="the file/URL this entity was read from"
    )
    etag = models.CharField(max_length=64, blank=True, help_text="hash of the processed entity")
    processing_errors = models.JSONField(default=list, blank=True)
    # Read and stored, but not exactly as written (e.g. a list used as a mapping key).
    processing_warnings = models.JSONField(default=list, blank=True)
    orphaned_at = models.DateTimeField(null=True, blank=True, db_index=True)
    search_text = models.TextField(blank=True, help_text="what free-text search looks at")

    class Meta:
        verbose_name_plural = "entities"
        ordering = ["kind", "namespace", "name"]
        indexes = [
            models.Index(fields=["kind", "name"]),
            models.Index(fields=["name"]),
            # `kind__iexact` (list page, API filters) compares folded values. Without these the
            # list page sorted all 10,000 rows for its first 25, and the API (ordered by id)
            # walked past every other kind first (25-28 ms -> 0.1 ms each).
            models.Index(Upper("kind"), "name", name="catalog_entity_kind_folded"),
            models.Index(Upper("kind"), "id", name="catalog_entity_kind_folded_id"),
            # The expression catalog.queries.search_filter searches, so the planner uses it.
            GinIndex(
                SearchVector("search_text", config="simple"), name="catalog_entity_search_gin"
            ),
        ]

    def __str__(self) -> str:
        return self.ref

    def save(self, *args: object, **kwargs: object) -> None:
        self.ref = make_ref(self.kind, self.namespace, self.name)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def display_name(self) -> str:
        """What people call it: a person's or team's `spec.profile.displayName`, else
        `metadata.title`, else the name (never a loaded-on-demand column: lists stay one query)."""
        if "spec" not in self.get_deferred_fields() and isinstance(self.spec, dict):
            profile = self.spec.get("profile")
            if isinstance(profile, dict):
                shown = profile.get("displayName")
                if isinstance(shown, str) and shown.strip():
                    return shown.strip()
        return self.title or self.name

    @property
    def annotations(self) -> dict[str, str]:
        value = (self.metadata or {}).get("annotations") or {}
        return value if isinstance(value, dict) else {}

    @property
    def links(self) -> list[dict[str, str]]:
        value = (self.metadata or {}).get("links") or []
        return [link for link in value if isinstance(link, dict)] if isinstance(value, list) else []

    @property
    def system_ref(self) -> str:
        system = (self.spec or {}).get("system")
        if not isinstance(system, str) or not system:
            return ""
        from catalog.validation import RefError, parse_ref

        try:
            return str(parse_ref(system, default_kind="System", default_namespace=self.namespace))
        except RefError:
            return ""

    def to_backstage(self) -> dict[str, object]:
        """The entity as Backstage's API returns it (envelope plus relations)."""
        metadata = dict(self.metadata or {})
        # Rows made outside ingestion (admin, fixtures) may store no name: the column has it.
        metadata.setdefault("name", self.name)
        metadata.setdefault("namespace", self.namespace)
        metadata["uid"] = str(self.pk)
        metadata["etag"] = self.etag
        body: dict[str, object] = {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "metadata": metadata,
            "spec": self.spec or {},
        }
        return body


class Relation(models.Model):
    """A directed relation between entities (ownedBy, memberOf, dependsOn, ...).

    The target is kept as a reference even when no such entity exists, so that a dangling
    reference is shown as missing rather than dropped."""

    source = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="relations")
    # The entity whose spec produced this row (forward rows: the source; reverse rows: the
    # target). Rebuilding an entity's relations replaces exactly the rows it originated.
    origin = models.ForeignKey(
        Entity, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    type = models.CharField(max_length=50)
    target_ref = models.CharField(max_length=400, db_index=True)
    target = models.ForeignKey(
        Entity, null=True, blank=True, on_delete=models.SET_NULL, related_name="incoming"
    )

    class Meta:
        constraints = [
            # Per origin: a Group's `members` and a User's `memberOf` both emit "user memberOf
            # group"; each keeps its own row so rebuilding one never drops the other's.
            models.UniqueConstraint(
                fields=["source", "type", "target_ref", "origin"], name="relation_unique_origin"
            )
        ]
        indexes = [models.Index(fields=["type", "target_ref"])]

    def __str__(self) -> str:
        return f"{self.source.ref} {self.type} {self.target_ref}"


class ApiToken(models.Model):
    """A bearer token for Paved's APIs; only its SHA-256 hash is stored (`catalog.tokens`).

    The scope says what it opens. A catalog token reads the catalog as its user, and one issued
    with `can_write` may also make Paved fetch or change locations (register, analyze, refresh,
    delete), and then only as its user may. A metrics-events token belongs to an integration
    (CI/CD, an import job), not to a person: it may only POST /api/metrics/events."""

    class Scope(models.TextChoices):
        CATALOG = "catalog", "Catalog API (as its user)"
        METRICS_EVENTS = "metrics-events", "Metrics events API (an integration)"

    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=20, choices=Scope, default=Scope.CATALOG)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="catalog_api_tokens",
        help_text="Catalog tokens act as this person; metrics-events tokens have none.",
    )
    prefix = models.CharField(
        max_length=12, editable=False, help_text="first characters, to tell tokens apart"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    can_write = models.BooleanField(
        default=False,
        help_text=(
            "Catalog tokens only: also register, analyze, refresh and delete catalog locations "
            "through the API, with the rights of its user."
        ),
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(scope="catalog") | models.Q(user__isnull=False),
                name="apitoken_catalog_has_user",
            ),
            models.CheckConstraint(
                condition=models.Q(scope="catalog") | models.Q(user__isnull=True, can_write=False),
                name="apitoken_integration_without_user",
            ),
            # An integration's name appears in every answer to it: one token per name.
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(scope="metrics-events"),
                name="apitoken_integration_name_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def clean(self) -> None:
        if self.scope == self.Scope.CATALOG and self.user_id is None:
            raise ValidationError({"user": "A catalog token acts as a person: choose its user."})
        if self.scope != self.Scope.CATALOG and self.user_id is not None:
            raise ValidationError(
                {"user": "An integration token belongs to no person: leave the user empty."}
            )
        if self.scope != self.Scope.CATALOG and self.can_write:
            raise ValidationError({"can_write": "Only catalog tokens can write."})


class ObservabilityLink(models.Model):
    """A link every component page shows, e.g. its Grafana dashboard: a URL pattern with
    placeholders ({name}, {namespace}, {environment}, ...; catalog/observability.py) filled from
    the component's catalog data."""

    class Kind(models.TextChoices):
        DASHBOARD = "dashboard", "Dashboard (Grafana)"
        LOGS = "logs", "Logs (Loki)"
        TRACES = "traces", "Traces (Tempo)"
        DEPLOYMENT = "deployment", "Deployment (Argo CD)"
        ON_CALL = "on-call", "On-call (PagerDuty)"
        OTHER = "other", "Other"

    title = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    url_pattern = models.CharField(
        max_length=2000,
        help_text=(
            "An http(s) URL with placeholders: {name}, {namespace}, {environment}, {system}, "
            "{argocd_app}, {pagerduty_service_id}. Write a literal brace as {{ or }}."
        ),
    )
    enabled = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=100, help_text="Lower comes first.")

    class Meta:
        ordering = ["position", "title"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from catalog.observability import validate_pattern

        try:
            validate_pattern(self.url_pattern)
        except ValidationError as exc:
            raise ValidationError({"url_pattern": exc.messages}) from None
