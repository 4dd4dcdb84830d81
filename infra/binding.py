"""What binds an infrastructure request: its component's namespace, and every object it writes.

A request writes more than its claim: Crossplane's connection Secret, the PushSecret that copies
it into the secret store, and the ExternalSecret (and its Secret) the service reads it with. Two
requests that share any of these names overwrite each other's secrets, whatever their classes,
so every name is checked against every live request, against the GitOps repository, and held
in `RequestObject` (one row per object, unique) so that two writers cannot both get it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from catalog.models import Entity
from infra.crossplane import ESO_API, ESO_PUSH_API, connection_secret_name
from infra.models import (
    INACTIVE_STATUSES,
    CrossplaneVersion,
    RequestObject,
    ResourceClass,
    ResourceRequest,
)
from portal.annotations import NAMESPACE_KEYS, OWNER_LABEL
from portal.providers import cluster
from portal.providers.base import ProviderError
from portal.providers.gitops import manifest_path

# Where the golden path and the catalog record a component's namespace, first one present wins
# (the same order as the catalog's `{namespace}` link placeholder); else the component's name.
NAMESPACE_ANNOTATIONS = NAMESPACE_KEYS
NAMESPACE_OWNER_LABEL = OWNER_LABEL


def component_namespace(component: Entity) -> str:
    annotations = component.annotations
    for key in NAMESPACE_ANNOTATIONS:
        value = annotations.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return component.name


def _group_name(owner_ref: str) -> str:
    """`group:default/team-orders` -> `team-orders` (how namespaces are labelled)."""
    return owner_ref.split(":", 1)[-1].split("/", 1)[-1]


@dataclass(frozen=True)
class ObjectName:
    """One Kubernetes object a request writes (or has written for it)."""

    what: str  # in plain words, e.g. "PushSecret"
    api_version: str
    kind: str
    namespace: str
    name: str
    environment: str
    committed: bool  # the apply step commits this object itself (a file in GitOps)

    @property
    def path(self) -> str:
        """Its file in the GitOps repository; also the object's key everywhere else."""
        return manifest_path(
            self.environment, self.api_version, self.kind, self.namespace, self.name
        )

    def __str__(self) -> str:
        return f"{self.what} {self.namespace}/{self.name}"


def object_names(
    *,
    api_version: str,
    kind: str,
    v2: bool,
    name: str,
    namespace: str,
    environment: str,
    push_secret: bool = True,
) -> list[ObjectName]:
    """Every object a request of this class, name and namespace writes. Pure (the migration
    that backfills `RequestObject` uses it too)."""
    secret = connection_secret_name(name)
    connection = f"{name}-connection"

    def obj(what: str, api: str, k: str, n: str, committed: bool = False) -> ObjectName:
        return ObjectName(what, api, k, namespace, n, environment, committed)

    return [
        obj(f"{kind} {'composite resource' if v2 else 'claim'}", api_version, kind, name, True),
        obj("connection Secret", "v1", "Secret", secret),
        obj("PushSecret", ESO_PUSH_API, "PushSecret", connection, push_secret),
        obj("ExternalSecret", ESO_API, "ExternalSecret", connection),
        obj("Secret read by the service", "v1", "Secret", connection),
    ]


def objects_for(
    rc: ResourceClass, *, name: str, namespace: str, environment: str
) -> list[ObjectName]:
    return object_names(
        api_version=rc.api_version,
        kind=rc.kind,
        v2=rc.crossplane_version == CrossplaneVersion.V2,
        name=name,
        namespace=namespace,
        environment=environment,
        # Written only when the class has keys to push and pushing is on.
        push_secret=bool(rc.connection_secret_keys)
        and settings.PAVED_INFRA_PUSH_CONNECTION_SECRETS,
    )


def request_objects(req: ResourceRequest) -> list[ObjectName]:
    return objects_for(
        req.resource_class, name=req.name, namespace=req.namespace, environment=req.environment
    )


def _describe(req: ResourceRequest) -> str:
    return f"{req.resource_class.name} request {req.name!r} (#{req.pk}, owned by {req.owner_ref or 'nobody'})"


# --- checks (read-only; each returns plain-words messages) -------------------------------------


def namespace_owner_problems(namespace: str, component: Entity, environment: str) -> list[str]:
    """Whether `namespace` belongs to another team: another team's component lives there, or
    another team's requests already do."""
    owner = component.owner_ref
    problems: list[str] = []
    # The default (the component's name) or any of the annotations may name it.
    names_it = Q(name=namespace)
    for key in NAMESPACE_ANNOTATIONS:
        names_it |= Q(**{f"metadata__annotations__{key}": namespace})
    candidates = (
        Entity.objects.filter(kind__iexact="component")
        .filter(names_it)
        .exclude(pk=component.pk)
        .exclude(owner_ref=owner)
        .only("name", "owner_ref", "metadata")
    )
    for other in candidates:
        if component_namespace(other) == namespace:
            problems.append(
                f"namespace {namespace!r} is the namespace of {other.name}, owned by "
                f"{other.owner_ref or 'nobody'}; {component.name} cannot put resources there"
            )
            break
    if not problems:
        foreign = (
            ResourceRequest.objects.active()
            .filter(namespace=namespace)
            .exclude(owner_ref=owner)
            .values_list("owner_ref", flat=True)
            .first()
        )
        if foreign is not None:
            problems.append(
                f"namespace {namespace!r} holds resources of {foreign or 'nobody'}; "
                f"{component.name} cannot put resources there"
            )
    return problems


def clash_problems(
    objects: Sequence[ObjectName], *, existing: ResourceRequest | None = None
) -> list[str]:
    """Which object of which live request is in the way of `objects` (every class, every
    status but deleted, rejected and cancelled). All objects share one namespace."""
    if not objects:
        return []
    first = objects[0]
    others = (
        ResourceRequest.objects.active()
        .filter(environment=first.environment, namespace=first.namespace)
        .select_related("resource_class")
    )
    if existing is not None:
        others = others.exclude(pk=existing.pk)
    taken: dict[str, tuple[ResourceRequest, ObjectName]] = {}
    for other in others:
        for obj in request_objects(other):
            taken.setdefault(obj.path, (other, obj))
    # Rows held by requests whose own fields no longer say so (e.g. renamed by hand).
    wanted = {obj.path for obj in objects}
    held = (
        RequestObject.objects.filter(path__in=wanted)
        .exclude(request__status__in=INACTIVE_STATUSES)
        .select_related("request", "request__resource_class")
    )
    if existing is not None:
        held = held.exclude(request=existing)
    for row in held:
        match = next(obj for obj in objects if obj.path == row.path)
        taken.setdefault(row.path, (row.request, match))
    problems = []
    for obj in objects:
        if obj.path not in taken:
            continue
        other, theirs = taken[obj.path]
        problems.append(
            f"its {obj} would overwrite the {theirs.what} of {_describe(other)} in "
            f"{obj.environment}; choose another name"
        )
    return problems


def object_exists(provider: Any, obj: ObjectName) -> bool:
    # The GitOps provider reads the committed file; a cluster provider reads the object.
    reader = getattr(provider, "read_manifest", None)
    if reader is not None:
        return (
            reader(obj.api_version, obj.kind, obj.namespace, obj.name, environment=obj.environment)
            is not None
        )
    status = provider.read_status(
        obj.api_version, obj.kind, obj.namespace, obj.name, environment=obj.environment
    )
    return bool(status.exists)


def repository_problems(
    objects: Sequence[ObjectName],
    *,
    existing: ResourceRequest | None = None,
    owner_ref: str | None = None,
) -> list[str]:
    """Objects the GitOps repository (or cluster) already has that this request did not
    write, and a namespace labelled for another team. Fails closed: an unreadable repository
    is a problem too."""
    mine = set()
    if existing is not None and existing.pk is not None:
        mine = set(
            RequestObject.objects.filter(request=existing, written=True).values_list(
                "path", flat=True
            )
        )
    provider = cluster()
    problems: list[str] = []
    try:
        for obj in objects:
            if obj.committed and obj.path not in mine and object_exists(provider, obj):
                problems.append(
                    f"its {obj} is already in the GitOps repository ({obj.path}) and was not "
                    "written for this request; choose another name or ask the platform team"
                )
        reader = getattr(provider, "read_manifest", None)
        if objects and owner_ref and reader is not None:
            ns = reader(
                "v1", "Namespace", "", objects[0].namespace, environment=objects[0].environment
            )
            labels = ((ns or {}).get("metadata") or {}).get("labels") or {}
            labelled = labels.get(NAMESPACE_OWNER_LABEL)
            if labelled and labelled != _group_name(owner_ref):
                problems.append(
                    f"namespace {objects[0].namespace!r} belongs to {labelled} in "
                    f"{objects[0].environment} (its Namespace in the GitOps repository says so)"
                )
    except ProviderError as exc:
        problems.append(f"the GitOps repository could not be checked ({exc}); try again")
    return problems


# --- holding names --------------------------------------------------------------------------


class ObjectTaken(Exception):
    """Another live request holds one of the names; the message says which."""


def hold_objects(req: ResourceRequest) -> list[RequestObject]:
    """Record that `req` holds every name it writes. Idempotent for names it already holds;
    ObjectTaken when a live request holds one (names of ended requests are given back here)."""
    objects = request_objects(req)
    paths = [obj.path for obj in objects]
    with transaction.atomic():
        RequestObject.objects.filter(path__in=paths, request__status__in=INACTIVE_STATUSES).exclude(
            request=req
        ).delete()
        rows = {row.path: row for row in RequestObject.objects.filter(request=req)}
        missing = [
            RequestObject(request=req, environment=obj.environment, path=obj.path, what=obj.what)
            for obj in objects
            if obj.path not in rows
        ]
        try:
            with transaction.atomic():
                created = RequestObject.objects.bulk_create(missing)
        except IntegrityError:
            problems = clash_problems(objects, existing=req)
            raise ObjectTaken(
                "; ".join(problems) or f"{req.name!r} was just taken by another request"
            ) from None
    return [*rows.values(), *created]
