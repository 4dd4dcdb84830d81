"""Checking a request against its class schema and the platform team's policies.

Read-only: used by the CLI (`infra render`), the form preview, the submit service and the
policy-check step, so all of them give the same answer and the same messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import jsonschema
from django.contrib.auth.models import AnonymousUser, User

from catalog.models import Entity, make_ref
from catalog.queries import group_refs_for_user
from infra.binding import (
    clash_problems,
    component_namespace,
    namespace_owner_problems,
    objects_for,
    repository_problems,
)
from infra.crossplane import connection_secret_name, render_claim
from infra.models import (
    DNS_LABEL,
    Composition,
    Policy,
    ResourceClass,
    ResourceRequest,
    Tier,
)


@dataclass(frozen=True)
class RequestSpec:
    """What someone asks for, in the shape of the request YAML (`infra render`)."""

    resource_class: str
    name: str
    namespace: str
    environment: str
    provider: str = "aws"
    parameters: Mapping[str, Any] = field(default_factory=dict)
    component: str = ""  # a catalog ref or a component name

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> RequestSpec:
        params = doc.get("parameters")
        return cls(
            resource_class=str(doc.get("resourceClass") or doc.get("resource_class") or ""),
            name=str(doc.get("name") or ""),
            namespace=str(doc.get("namespace") or ""),
            environment=str(doc.get("environment") or ""),
            provider=str(doc.get("provider") or "aws"),
            parameters=params if isinstance(params, Mapping) else {},
            component=str(doc.get("component") or ""),
        )


@dataclass(frozen=True)
class Problem:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class RequestInvalid(ValueError):
    """The request cannot go ahead; `problems` says why, one per field. Nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems

    def by_field(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for problem in self.problems:
            out.setdefault(problem.field, []).append(problem.message)
        return out


@dataclass
class CheckedRequest:
    """A request that passed every check, with everything needed to act on it."""

    spec: RequestSpec
    resource_class: ResourceClass
    composition: Composition
    tier: Tier | None
    parameters: dict[str, Any]
    policy: Policy | None
    component: Entity | None
    owner_ref: str
    monthly_cost: Decimal
    claim: dict[str, Any]
    namespace: str  # the component's namespace, whatever the spec said

    @property
    def needs_approval(self) -> bool:
        return bool(self.policy and self.policy.requires_approval)

    @property
    def secret_name(self) -> str:
        return connection_secret_name(self.spec.name)

    @property
    def storage_gb(self) -> int:
        return storage_of(self.resource_class, self.parameters)


def storage_of(rc: ResourceClass, parameters: Mapping[str, Any]) -> int:
    value = parameters.get(rc.storage_parameter) if rc.storage_parameter else None
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def estimate_monthly_cost(
    tier: Tier | None, rc: ResourceClass, params: Mapping[str, Any]
) -> Decimal:
    if tier is None:
        return Decimal(0)
    cost = tier.monthly_cost + tier.monthly_cost_per_gb * storage_of(rc, params)
    return cost.quantize(Decimal("0.01"))


def effective_policy(environment: str, team_ref: str) -> Policy | None:
    """The team's own policy for the environment if there is one, else the environment's."""
    policies = {p.team_ref: p for p in Policy.objects.filter(environment=environment)}
    return policies.get(team_ref) or policies.get("")


def with_defaults(schema: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters in the schema's order, defaults filled in, unknown ones kept (to report)."""
    props: Mapping[str, Any] = schema.get("properties") or {}
    out: dict[str, Any] = {}
    for key, sub in props.items():
        if key in params:
            out[key] = params[key]
        elif isinstance(sub, Mapping) and "default" in sub:
            out[key] = sub["default"]
    for key, value in params.items():
        out.setdefault(key, value)
    return out


def _schema_message(error: jsonschema.ValidationError, sub: Mapping[str, Any]) -> str:
    value = error.instance
    if error.validator in ("minimum", "maximum") and "minimum" in sub and "maximum" in sub:
        return f"must be between {sub['minimum']} and {sub['maximum']} (got {value!r})"
    if error.validator == "minimum":
        return f"must be at least {sub.get('minimum')} (got {value!r})"
    if error.validator == "maximum":
        return f"must be at most {sub.get('maximum')} (got {value!r})"
    if error.validator == "enum":
        choices = ", ".join(str(c) for c in sub.get("enum", []))
        return f"{value!r} is not one of: {choices}"
    if error.validator == "type":
        return f"must be of type {sub.get('type')} (got {value!r})"
    return error.message


def schema_problems(rc: ResourceClass, params: Mapping[str, Any]) -> list[Problem]:
    schema = rc.parameter_schema or {"type": "object"}
    props: Mapping[str, Any] = rc.parameter_properties()
    problems: list[Problem] = []
    for key in params:
        if props and key not in props:
            known = ", ".join(props)
            problems.append(
                Problem(f"parameters.{key}", f"unknown parameter for {rc.name}; known: {known}")
            )
    # Unknown keys are reported above, in our words; check the rest against the schema.
    known_only = {k: v for k, v in params.items() if not props or k in props}
    checked_schema = {k: v for k, v in schema.items() if k != "additionalProperties"}
    validator = jsonschema.Draft202012Validator(checked_schema)
    for error in sorted(validator.iter_errors(known_only), key=lambda e: list(e.absolute_path)):
        path = [str(p) for p in error.absolute_path]
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else error.message
            problems.append(Problem(f"parameters.{missing}", "is required"))
            continue
        key = path[0] if path else ""
        sub = props.get(key, {}) if key else {}
        where = "parameters." + ".".join(path) if path else "parameters"
        problems.append(Problem(where, _schema_message(error, sub)))
    return problems


def find_component(ref_or_name: str) -> Entity | None:
    value = ref_or_name.strip()
    if not value:
        return None
    ref = value.lower() if ":" in value else make_ref("component", "default", value)
    return Entity.objects.filter(ref=ref, kind__iexact="component").first()


def owned_components(user: User | AnonymousUser) -> list[Entity]:
    """Components the user may request infrastructure for (platform admins: all)."""
    components = Entity.objects.filter(kind__iexact="component").order_by("name")
    if not getattr(user, "is_staff", False):
        components = components.filter(owner_ref__in=group_refs_for_user(user))
    return list(components)


def validate_request(
    spec: RequestSpec,
    *,
    actor: User | AnonymousUser | None = None,
    existing: ResourceRequest | None = None,
    require_component: bool = True,
    check_repository: bool = False,
) -> CheckedRequest:
    """Check everything and return the CheckedRequest, or raise RequestInvalid listing every
    problem. `existing` is the request being changed (day-2): it does not clash with itself.
    A component decides the namespace. `check_repository` also reads the GitOps repository
    (or cluster) for objects in the way: done when writing, not for every live preview."""
    problems: list[Problem] = []
    rc = ResourceClass.objects.filter(name=spec.resource_class, enabled=True).first()
    if rc is None:
        known = ", ".join(ResourceClass.objects.filter(enabled=True).values_list("name", flat=True))
        problems.append(
            Problem(
                "resource_class", f"unknown resource class {spec.resource_class!r}; known: {known}"
            )
        )
    component, owner_ref, namespace = _ownership(spec, actor, existing, require_component, problems)
    problems.extend(_name_problems(spec, namespace, component))
    namespace_ok = bool(namespace) and not any(p.field == "namespace" for p in problems)
    if component is not None and existing is None and namespace_ok:
        problems.extend(
            Problem("namespace", message)
            for message in namespace_owner_problems(namespace, component, spec.environment)
        )
    if rc is None:
        raise RequestInvalid(problems)

    composition = _composition(rc, spec, problems)
    schema = {**(rc.parameter_schema or {}), "properties": rc.parameter_properties()}
    params = with_defaults(schema, dict(spec.parameters))
    problems.extend(schema_problems(rc, params))
    tier = _tier(rc, spec, params, composition, problems) if composition is not None else None
    policy = effective_policy(spec.environment, owner_ref)
    new_storage = storage_of(rc, params)
    problems.extend(_limit_problems(rc, spec, params, policy, new_storage, existing))
    if spec.name and namespace_ok and not any(p.field == "name" for p in problems):
        _clash_problems(rc, spec, namespace, owner_ref, existing, check_repository, problems)
    if policy and owner_ref:
        problems.extend(_quota_problems(policy, owner_ref, spec.environment, new_storage, existing))

    if problems:
        raise RequestInvalid(problems)
    assert composition is not None  # noqa: S101  (a missing composition is a problem above)
    claim = render_claim(
        rc,
        name=spec.name,
        namespace=namespace,
        parameters=params,
        provider=spec.provider,
        environment=spec.environment,
    )
    return CheckedRequest(
        spec=spec,
        resource_class=rc,
        composition=composition,
        tier=tier,
        parameters=params,
        policy=policy,
        component=component if existing is None else existing.component,
        owner_ref=owner_ref,
        monthly_cost=estimate_monthly_cost(tier, rc, params),
        claim=claim,
        namespace=namespace,
    )


def _ownership(
    spec: RequestSpec,
    actor: User | AnonymousUser | None,
    existing: ResourceRequest | None,
    require_component: bool,
    problems: list[Problem],
) -> tuple[Entity | None, str, str]:
    """(component, owner_ref, namespace): a request belongs to a catalog component and its
    owning team, and goes in the component's namespace."""
    component = find_component(spec.component) if spec.component else None
    owner_ref = ""
    namespace = spec.namespace
    if spec.component and component is None:
        problems.append(Problem("component", f"unknown component {spec.component!r}"))
    elif component is not None:
        owner_ref = component.owner_ref
        outsider = actor is not None and not getattr(actor, "is_staff", False)
        if outsider and component.owner_ref not in group_refs_for_user(actor):  # type: ignore[arg-type]
            problems.append(
                Problem(
                    "component",
                    f"you do not own {component.name} (owned by "
                    f"{component.owner_ref or 'nobody'}); ask that team to request it",
                )
            )
        if existing is None:
            # The namespace follows from the component; nobody may point a request elsewhere.
            namespace = component_namespace(component)
            if spec.namespace and spec.namespace != namespace:
                problems.append(
                    Problem(
                        "namespace",
                        f"{component.name}'s resources go in its own namespace {namespace!r}, "
                        f"not {spec.namespace!r}: the namespace follows from the component",
                    )
                )
    elif require_component:
        problems.append(Problem("component", "choose the component that will own it"))
    if existing is not None:
        owner_ref = existing.owner_ref
        namespace = existing.namespace
    return component, owner_ref, namespace


def _name_problems(spec: RequestSpec, namespace: str, component: Entity | None) -> list[Problem]:
    problems = []
    for label, value in (("name", spec.name), ("namespace", namespace)):
        if not value:
            if label == "name" or component is None:
                problems.append(Problem(label, "is required"))
        elif len(value) > 63 or not DNS_LABEL.match(value):
            from_catalog = label == "namespace" and value != spec.namespace
            where = " (from the component's catalog entry)" if from_catalog else ""
            problems.append(
                Problem(
                    label,
                    f"{value!r}{where} is not a valid Kubernetes name (lower-case letters, "
                    "digits and '-', at most 63 characters, starting and ending with a letter "
                    "or digit)",
                )
            )
    return problems


def _composition(
    rc: ResourceClass, spec: RequestSpec, problems: list[Problem]
) -> Composition | None:
    composition = Composition.objects.filter(
        resource_class=rc, provider=spec.provider, environment=spec.environment
    ).first()
    if composition is not None:
        return composition
    offered = sorted(
        {f"{p}/{e}" for p, e in rc.compositions.values_list("provider", "environment")}
    )
    if not rc.compositions.filter(environment=spec.environment).exists():
        problems.append(
            Problem(
                "environment",
                f"{rc.name} is not offered in environment {spec.environment!r}; "
                f"offered: {', '.join(offered)}",
            )
        )
    else:
        problems.append(
            Problem(
                "provider",
                f"{rc.name} is not offered on {spec.provider!r} in {spec.environment}; "
                f"offered: {', '.join(offered)}",
            )
        )
    return None


def _tier(
    rc: ResourceClass,
    spec: RequestSpec,
    params: dict[str, Any],
    composition: Composition,
    problems: list[Problem],
) -> Tier | None:
    tier_name = params.get("tier")
    if not isinstance(tier_name, str):
        return None
    offered = Tier.objects.filter(
        resource_class=rc, provider=spec.provider, environment=spec.environment
    )
    tier = offered.filter(name=tier_name).first()
    if tier is None and not any(p.field == "parameters.tier" for p in problems):
        problems.append(
            Problem(
                "parameters.tier",
                f"tier {tier_name!r} is not offered for {spec.provider}/{spec.environment}; "
                f"choose one of: {', '.join(offered.values_list('name', flat=True))}",
            )
        )
    return tier


def _limit_problems(
    rc: ResourceClass,
    spec: RequestSpec,
    params: dict[str, Any],
    policy: Policy | None,
    new_storage: int,
    existing: ResourceRequest | None,
) -> list[Problem]:
    """The environment's allowed regions, and storage that may only grow."""
    problems = []
    region = params.get("region")
    allowed = policy.allowed_regions if policy else []
    if allowed and region is not None and region not in allowed:
        problems.append(
            Problem(
                "parameters.region",
                f"region {region!r} is not allowed in {spec.environment}; allowed: "
                + ", ".join(allowed),
            )
        )
    old_storage = existing.storage_gb if existing is not None else 0
    if new_storage < old_storage and rc.storage_parameter and not rc.allow_shrink:
        problems.append(
            Problem(
                f"parameters.{rc.storage_parameter}",
                f"shrinking from {old_storage} to {new_storage} is not allowed for "
                f"{rc.name}; only growing is",
            )
        )
    return problems


def _clash_problems(
    rc: ResourceClass,
    spec: RequestSpec,
    namespace: str,
    owner_ref: str,
    existing: ResourceRequest | None,
    check_repository: bool,
    problems: list[Problem],
) -> None:
    """Another request of the same name, any other object it would write, and (when writing)
    objects already in the GitOps repository or cluster."""
    objects = objects_for(rc, name=spec.name, namespace=namespace, environment=spec.environment)
    clash = ResourceRequest.objects.active().filter(
        resource_class=rc, environment=spec.environment, namespace=namespace, name=spec.name
    )
    if existing is not None:
        clash = clash.exclude(pk=existing.pk)
    other = clash.first()
    if other is not None:
        problems.append(
            Problem(
                "name",
                f"a {rc.kind} named {spec.name!r} already exists in namespace "
                f"{namespace} ({spec.environment}), owned by {other.owner_ref}; "
                "choose another name",
            )
        )
    else:
        # Every other object it writes (secrets, PushSecret, ...), against every class.
        problems.extend(Problem("name", m) for m in clash_problems(objects, existing=existing))
    if check_repository and not problems:
        problems.extend(
            Problem("name", m)
            for m in repository_problems(objects, existing=existing, owner_ref=owner_ref)
        )


def _quota_problems(
    policy: Policy,
    owner_ref: str,
    environment: str,
    new_storage: int,
    existing: ResourceRequest | None,
) -> list[Problem]:
    problems: list[Problem] = []
    live = (
        ResourceRequest.objects.active()
        .filter(owner_ref=owner_ref, environment=environment)
        .select_related("resource_class")
    )
    if existing is not None:
        live = live.exclude(pk=existing.pk)
    rows = list(live.only("parameters", "resource_class__storage_parameter"))
    count_limit = policy.max_resources_per_team
    if count_limit is not None and existing is None and len(rows) + 1 > count_limit:
        problems.append(
            Problem(
                "quota",
                f"{owner_ref} already has {len(rows)} of its {count_limit} resources in "
                f"{environment}; delete one or ask the platform team for a larger quota",
            )
        )
    storage_limit = policy.max_storage_gb_per_team
    if storage_limit is not None:
        used = sum(r.storage_gb for r in rows)
        if used + new_storage > storage_limit:
            problems.append(
                Problem(
                    "quota",
                    f"{owner_ref} would use {used + new_storage} GB of its {storage_limit} GB "
                    f"storage quota in {environment} ({used} GB already used)",
                )
            )
    return problems
