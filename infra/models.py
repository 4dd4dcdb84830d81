"""Self-service infrastructure: what the platform team offers (resource classes, tiers,
compositions, policies) and what developers asked for (requests, their history, approvals).

A ResourceClass is Paved's twin of a Crossplane CompositeResourceDefinition; a Composition is
the Crossplane Composition for one provider and environment; a ResourceRequest is one claim.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class CrossplaneVersion(models.TextChoices):
    V1 = "v1", "v1: cluster-scoped XR offered as a namespaced claim"
    V2 = "v2", "v2: namespaced composite resource (no claim)"


class ResourceClass(models.Model):
    """What a developer can ask for, e.g. `postgresql`: the Crossplane XRD equivalent.

    `kind`/`plural` are the names developers write: the claim in Crossplane v1, the namespaced
    composite resource in v2. For v1 the cluster-scoped composite resource gets
    `composite_kind`/`composite_plural` (default: the names prefixed with X), because Kubernetes
    refuses two kinds with the same name in one API group."""

    name = models.SlugField(max_length=63, unique=True, help_text="e.g. postgresql")
    title = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    group = models.CharField(max_length=253, help_text="API group, e.g. database.platform.myorg.io")
    version = models.CharField(max_length=32, default="v1alpha1")
    kind = models.CharField(max_length=63, help_text="e.g. PostgreSQLInstance")
    plural = models.CharField(max_length=63, help_text="e.g. postgresqlinstances")
    composite_kind = models.CharField(
        max_length=63, blank=True, help_text="v1 only; blank means X<kind>."
    )
    composite_plural = models.CharField(
        max_length=63, blank=True, help_text="v1 only; blank means x<plural>."
    )
    crossplane_version = models.CharField(
        max_length=2, choices=CrossplaneVersion.choices, default=CrossplaneVersion.V1
    )
    parameter_schema = models.JSONField(
        default=dict, help_text="JSON Schema of spec.parameters (type: object)."
    )
    parameter_order = models.JSONField(
        default=list,
        blank=True,
        help_text="Parameter names in display order (JSONB does not keep the schema's key "
        "order); names left out follow in schema order.",
    )
    connection_secret_keys = models.JSONField(default=list, blank=True)
    storage_parameter = models.CharField(
        max_length=63,
        blank=True,
        default="storageGB",
        help_text="Parameter counted against storage quotas and priced per GB (blank: none).",
    )
    allow_shrink = models.BooleanField(
        default=False, help_text="May a resize lower the storage parameter?"
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "resource classes"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["group", "kind"], name="resourceclass_unique_kind")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        schema = self.parameter_schema
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise ValidationError({"parameter_schema": "The schema must be a JSON object schema."})
        import jsonschema

        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ValidationError(
                {"parameter_schema": f"Invalid JSON Schema: {exc.message}"}
            ) from exc
        if self.kind == self.xr_kind and self.crossplane_version == CrossplaneVersion.V1:
            raise ValidationError({"composite_kind": "The composite kind must differ from kind."})

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def claim_kind(self) -> str:
        """The claim kind (v1); v2 has no claims, developers write the XR itself."""
        return self.kind if self.crossplane_version == CrossplaneVersion.V1 else ""

    @property
    def xr_kind(self) -> str:
        if self.crossplane_version == CrossplaneVersion.V2:
            return self.kind
        return self.composite_kind or f"X{self.kind}"

    @property
    def xr_plural(self) -> str:
        if self.crossplane_version == CrossplaneVersion.V2:
            return self.plural
        return self.composite_plural or f"x{self.plural}"

    @property
    def xrd_name(self) -> str:
        return f"{self.xr_plural}.{self.group}"

    def parameter_properties(self) -> dict[str, dict[str, Any]]:
        """The schema's properties in `parameter_order`."""
        props = dict((self.parameter_schema or {}).get("properties") or {})
        order = [name for name in self.parameter_order or [] if name in props]
        order += [name for name in props if name not in order]
        return {name: props[name] for name in order}


class Tier(models.Model):
    """What `tier: <name>` means for one class, provider and environment, and what it costs."""

    resource_class = models.ForeignKey(
        ResourceClass, on_delete=models.CASCADE, related_name="tiers"
    )
    provider = models.CharField(max_length=32, default="aws")
    environment = models.CharField(max_length=32)
    name = models.SlugField(max_length=32, help_text="e.g. standard")
    description = models.CharField(max_length=300, blank=True)
    settings = models.JSONField(
        default=dict, blank=True, help_text="What it means, e.g. instanceClass, multiAz."
    )
    deletion_protection = models.BooleanField(
        default=False, help_text="New resources of this tier start with deletion protection on."
    )
    monthly_cost = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal(0))
    monthly_cost_per_gb = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal(0))

    class Meta:
        ordering = ["resource_class", "provider", "environment", "monthly_cost", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource_class", "provider", "environment", "name"],
                name="tier_unique_name",
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource_class.name} {self.name} ({self.provider}/{self.environment})"


class CompositionMode(models.TextChoices):
    RESOURCES = "Resources", "Resources (Crossplane v1 native patch-and-transform)"
    PIPELINE = "Pipeline", "Pipeline (function-patch-and-transform)"


class Composition(models.Model):
    """The Crossplane Composition for one class, provider and environment.

    `resources_yaml` is the list of composed resources exactly as Crossplane reads it
    (`name`, `base`, `patches` with fromFieldPath/toFieldPath, ...) and is exported verbatim,
    in the same key order."""

    resource_class = models.ForeignKey(
        ResourceClass, on_delete=models.CASCADE, related_name="compositions"
    )
    name = models.SlugField(max_length=253, unique=True, help_text="e.g. postgresql-aws-production")
    provider = models.CharField(max_length=32, default="aws")
    environment = models.CharField(max_length=32)
    labels = models.JSONField(
        default=dict, blank=True, help_text="Blank: {provider: ..., environment: ...}."
    )
    mode = models.CharField(
        max_length=16, choices=CompositionMode.choices, default=CompositionMode.RESOURCES
    )
    # YAML text, not JSON: PostgreSQL's JSONB would reorder keys, and the export must read
    # exactly as the platform team wrote it (the seed's Composition field for field).
    resources_yaml = models.TextField(
        help_text="Composed resources: a YAML list of {name, base, patches}, as in Crossplane."
    )
    patch_sets = models.JSONField(default=list, blank=True)
    composite_type_kind = models.CharField(
        max_length=63,
        blank=True,
        help_text="compositeTypeRef kind; blank means the class's composite kind.",
    )
    write_connection_secrets_to_namespace = models.CharField(max_length=63, blank=True)

    class Meta:
        ordering = ["resource_class", "provider", "environment"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource_class", "provider", "environment"],
                name="composition_unique_target",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def selector_labels(self) -> dict[str, str]:
        return dict(self.labels) or {"provider": self.provider, "environment": self.environment}

    @property
    def resources(self) -> Any:
        return yaml.safe_load(self.resources_yaml or "[]") or []

    @resources.setter
    def resources(self, value: Any) -> None:
        self.resources_yaml = yaml.safe_dump(value, sort_keys=False)

    def clean(self) -> None:
        try:
            resources = self.resources
        except yaml.YAMLError as exc:
            raise ValidationError({"resources_yaml": f"Invalid YAML: {exc}"}) from exc
        if not isinstance(resources, list) or not all(
            isinstance(r, dict) and r.get("name") and isinstance(r.get("base"), dict)
            for r in resources
        ):
            raise ValidationError(
                {"resources_yaml": "A list of {name, base, patches} objects is required."}
            )
        for resource in resources:
            for patch in resource.get("patches") or []:
                if not isinstance(patch, dict):
                    raise ValidationError({"resources_yaml": "Each patch must be an object."})


class Approvers(models.TextChoices):
    PLATFORM_ADMIN = "platform_admin", "A platform admin"
    TEAM_LEAD = "team_lead", "The owning team's lead"
    EITHER = "either", "A platform admin or the owning team's lead"


class Policy(models.Model):
    """Guardrails for one environment (optionally for one team): approval, quotas, regions."""

    environment = models.CharField(max_length=32)
    team_ref = models.CharField(
        max_length=300, blank=True, help_text="e.g. group:default/team-x; blank = every team."
    )
    requires_approval = models.BooleanField(default=False)
    approvers = models.CharField(max_length=16, choices=Approvers.choices, default=Approvers.EITHER)
    allowed_regions = models.JSONField(default=list, blank=True, help_text="Empty: any region.")
    max_resources_per_team = models.PositiveIntegerField(null=True, blank=True)
    max_storage_gb_per_team = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "policies"
        ordering = ["environment", "team_ref"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "team_ref"], name="policy_unique_scope")
        ]

    def __str__(self) -> str:
        return f"{self.environment} ({self.team_ref or 'all teams'})"


class TeamLead(models.Model):
    """Who may approve for a team when a policy names the team's lead."""

    group_ref = models.CharField(max_length=300, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="led_teams"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group_ref", "user"], name="teamlead_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} leads {self.group_ref}"


class RequestStatus(models.TextChoices):
    CHECKING = "checking", "Checking"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    PROVISIONING = "provisioning", "Provisioning"
    COMMITTED = "committed", "Committed to GitOps"
    READY = "ready", "Ready"
    UPDATING = "updating", "Updating"
    DELETING = "deleting", "Deleting"
    DELETED = "deleted", "Deleted"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


# Requests that hold a name and count against quotas.
INACTIVE_STATUSES = (RequestStatus.DELETED, RequestStatus.REJECTED, RequestStatus.CANCELLED)
LIVE_STATUSES = (RequestStatus.READY, RequestStatus.COMMITTED, RequestStatus.UPDATING)


class ResourceRequestQuerySet(models.QuerySet["ResourceRequest"]):
    def active(self) -> ResourceRequestQuerySet:
        return self.exclude(status__in=INACTIVE_STATUSES)


class ResourceRequest(models.Model):
    """One requested resource (one claim) over its whole life: created, changed, deleted."""

    resource_class = models.ForeignKey(
        ResourceClass, on_delete=models.PROTECT, related_name="requests"
    )
    component = models.ForeignKey(
        "catalog.Entity",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="infra_requests",
    )
    component_ref = models.CharField(max_length=400, blank=True)
    owner_ref = models.CharField(max_length=400, db_index=True)
    name = models.CharField(max_length=63)
    namespace = models.CharField(max_length=63)
    environment = models.CharField(max_length=32)
    provider = models.CharField(max_length=32, default="aws")
    parameters = models.JSONField(default=dict)
    status = models.CharField(
        max_length=20,
        choices=RequestStatus.choices,
        default=RequestStatus.CHECKING,
        db_index=True,
    )
    status_message = models.CharField(max_length=500, blank=True)
    deletion_protection = models.BooleanField(default=False)
    connection_secret_name = models.CharField(max_length=253, blank=True)
    monthly_cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(0))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="infra_requests",
    )
    # Plain ids, not foreign keys: runs use database-level on_delete, which Django does not let
    # one model mix with the Python-level variants our other references need.
    source_run_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The scaffolder run that asked for it (infra:request)."
    )
    # Self-service metric: fulfilled without a human outside the portal, and how fast.
    needed_approval = models.BooleanField(default=False)
    fulfilled_without_human = models.BooleanField(null=True, blank=True)
    time_to_ready = models.DurationField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    ready_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = ResourceRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A claim name is taken while its request is alive (kinds differ per class).
            models.UniqueConstraint(
                fields=["resource_class", "environment", "namespace", "name"],
                condition=~models.Q(status__in=["deleted", "rejected", "cancelled"]),
                name="request_unique_live_claim",
            )
        ]
        indexes = [models.Index(fields=["owner_ref", "environment", "status"])]

    def __str__(self) -> str:
        return f"{self.resource_class.name} {self.namespace}/{self.name} ({self.environment})"

    @property
    def subject(self) -> str:
        return f"infra.request:{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status not in INACTIVE_STATUSES

    @property
    def storage_gb(self) -> int:
        key = self.resource_class.storage_parameter
        value = self.parameters.get(key, 0) if key else 0
        return int(value) if isinstance(value, int | float) else 0

    @property
    def tier_name(self) -> str:
        return str(self.parameters.get("tier", ""))

    @property
    def can_day2(self) -> bool:
        return self.status in (RequestStatus.READY, RequestStatus.COMMITTED, RequestStatus.FAILED)


class RequestEvent(models.Model):
    """The request's history: who did what, when, with which run (audit trail)."""

    request = models.ForeignKey(ResourceRequest, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=32)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    run_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.action}"


class ChangeAction(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Change"
    DELETE = "delete", "Delete"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


class ApprovalQuerySet(models.QuerySet["Approval"]):
    def pending(self) -> ApprovalQuerySet:
        return self.filter(status=ApprovalStatus.PENDING)


class Approval(models.Model):
    """A change that waits for a person: created with the request, decided in the inbox."""

    request = models.ForeignKey(ResourceRequest, on_delete=models.CASCADE, related_name="approvals")
    action = models.CharField(max_length=16, choices=ChangeAction.choices)
    parameters = models.JSONField(default=dict, help_text="The parameters to apply if approved.")
    approvers = models.CharField(max_length=16, choices=Approvers.choices)
    status = models.CharField(
        max_length=16,
        choices=ApprovalStatus.choices,
        default=ApprovalStatus.PENDING,
        db_index=True,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = ApprovalQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request"],
                condition=models.Q(status="pending"),
                name="approval_one_pending_per_request",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.request} ({self.status})"


class RequestObject(models.Model):
    """A name a request holds: one object it writes (claim, connection Secret, PushSecret,
    ExternalSecret, ...), keyed by its file in the GitOps repository. Unique, so two requests
    can never both hold one; a request that ended gives its names back to the next holder."""

    request = models.ForeignKey(
        ResourceRequest, on_delete=models.CASCADE, related_name="held_objects"
    )
    environment = models.CharField(max_length=32)
    path = models.CharField(
        max_length=500, unique=True, help_text="environments/<env>/<namespace>/<kind>/<name>.yaml"
    )
    what = models.CharField(max_length=120)
    written = models.BooleanField(
        default=False, help_text="Committed by this request's own apply step."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["path"]

    def __str__(self) -> str:
        return f"{self.path} (request #{self.request_id})"
