"""Read side of the catalog: list/search querysets and entity pages, in a fixed number of queries."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import Count, Q, QuerySet
from django.db.models.fields.json import KT, KeyTextTransform, KeyTransform

from catalog.models import Entity, Relation
from portal.annotations import is_project_slug

# --- Who is in which team ---------------------------------------------------------------


def group_refs_for_user(user: User | AnonymousUser) -> set[str]:
    """References of the catalog groups the user is a member of (memberOf relations)."""
    if not user.is_authenticated:
        return set()
    # One indexed query, not memoized on the user object: a membership granted or revoked
    # mid-request (or in a long-lived worker) is seen at once. Pages that need it more than once
    # pass the set along or use group_refs_subquery.
    return set(_memberships(user.pk).values_list("target_ref", flat=True))


def group_refs_subquery(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Relation, Any]:
    """The same group references as a subquery (`field__in=...`), so that filtering a list by
    the user's teams stays one query."""
    relations = _memberships(user.pk)
    if not user.is_authenticated:
        relations = relations.none()
    return relations.values("target_ref")


def _memberships(user_id: Any) -> QuerySet[Relation, Relation]:
    """A user's memberOf relations. Membership counts only from documents the platform team
    vouches for (saved in Paved, or from an approved location): a developer cannot register a
    Group or User document that makes them a member of another team."""
    return Relation.objects.filter(
        source__user=user_id, source__kind__iexact="user", type="memberOf"
    ).filter(
        Q(origin__isnull=True)
        | Q(origin__location__isnull=True)
        | Q(origin__location__approved_at__isnull=False)
    )


# --- Lists and search ----------------------------------------------------------------------

LIST_COLUMNS = (
    "id",
    "kind",
    "namespace",
    "name",
    "ref",
    "title",
    "description",
    "spec_type",
    "lifecycle",
    "owner_ref",
    "tags",
    "processing_errors",
    "orphaned_at",
    "updated_at",
)
SORTS = {
    "name": ("name", "kind"),
    "-name": ("-name", "kind"),
    "kind": ("kind", "name"),
    "owner": ("owner_ref", "name"),
    "type": ("spec_type", "name"),
    "-updated": ("-updated_at", "name"),
}
DEFAULT_KIND = "component"
# The kind switcher above the list, in this order (other kinds follow under "All").
KIND_TABS = (
    ("component", "Components"),
    ("api", "APIs"),
    ("system", "Systems"),
    ("resource", "Resources"),
    ("domain", "Domains"),
    ("group", "Teams"),
    ("user", "People"),
    ("template", "Templates"),
)
_WORD = re.compile(r"[\w.+#:-]+", re.UNICODE)


@dataclass
class ListFilters:
    """What the list page filters on; all of it lives in the URL."""

    kind: str = ""
    type: str = ""
    owner: str = ""
    lifecycle: str = ""
    tag: str = ""
    mine: bool = False
    problems: bool = False  # only entities with processing errors or orphaned
    q: str = ""
    sort: str = "name"
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_query(cls, params: Any) -> ListFilters:
        sort = params.get("sort", "name")
        # Services first: without a kind the list shows Components; "all" shows every kind.
        kind = params.get("kind")
        kind = DEFAULT_KIND if kind is None else "" if kind.strip().lower() == "all" else kind
        return cls(
            kind=kind.strip()[:63],
            type=params.get("type", "").strip()[:100],
            owner=params.get("owner", "").strip()[:400],
            lifecycle=params.get("lifecycle", "").strip()[:100],
            tag=params.get("tag", "").strip()[:63],
            mine=params.get("mine") in ("1", "true", "on"),
            problems=params.get("problems") in ("1", "true", "on"),
            q=params.get("q", "").strip()[:200],
            sort=sort if sort in SORTS else "name",
        )


def owned_by_user(user: AbstractBaseUser | AnonymousUser) -> Q:
    """Owned by the user or one of their teams ("mine"), as a filter: the teams are a subquery,
    so no page spends a query fetching them first."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    return Q(owner_ref__in=group_refs_subquery(user)) | Q(
        owner_ref=f"user:default/{user.get_username().lower()}"
    )


def search_filter(qs: QuerySet[Entity], text: str) -> QuerySet[Entity]:
    """Full-text search, a prefix match on every word; the GIN index on Entity serves it."""
    words = _WORD.findall(text.lower())
    if not words:
        return qs
    # Each word as a prefix (results update as you type), all words required.
    raw = " & ".join(f"'{w.replace(chr(39), '')}':*" for w in words)
    return qs.annotate(search=SearchVector("search_text", config="simple")).filter(
        search=SearchQuery(raw, config="simple", search_type="raw")
    )


def entities_for_list(
    user: AbstractBaseUser | AnonymousUser, filters: ListFilters
) -> QuerySet[Entity]:
    qs = Entity.objects.only(*LIST_COLUMNS)
    if filters.kind:
        qs = qs.filter(kind__iexact=filters.kind)
    if filters.type:
        qs = qs.filter(spec_type=filters.type)
    if filters.lifecycle:
        qs = qs.filter(lifecycle=filters.lifecycle)
    if filters.owner:
        owner = filters.owner.lower()
        qs = qs.filter(owner_ref=owner if ":" in owner else f"group:default/{owner}")
    if filters.tag:
        qs = qs.filter(tags__contains=[filters.tag])
    if filters.mine:
        qs = qs.filter(owned_by_user(user))
    if filters.problems:
        qs = qs.filter(Q(orphaned_at__isnull=False) | ~Q(processing_errors=[]))
    if filters.q:
        qs = search_filter(qs, filters.q)
    return qs.order_by(*SORTS[filters.sort])


def kind_tabs(current: str) -> list[dict[str, Any]]:
    """The kind switcher: each kind with how many entities it has (one grouped query; COUNT(*)
    lets PostgreSQL answer from the kind index alone instead of reading every row)."""
    counts: dict[str, int] = {}
    for row in Entity.objects.values("kind").annotate(n=Count("*")).order_by():
        counts[str(row["kind"]).lower()] = counts.get(str(row["kind"]).lower(), 0) + int(row["n"])
    tabs = [
        {"kind": kind, "label": label, "count": counts.get(kind, 0), "current": kind == current}
        for kind, label in KIND_TABS
        if counts.get(kind) or kind == current
    ]
    tabs.append(
        {"kind": "all", "label": "All", "count": sum(counts.values()), "current": not current}
    )
    return tabs


def attach_owner_names(entities: list[Entity]) -> None:
    """Set `owner_name` on each entity: its owner's display name (one query for the page)."""
    refs = {e.owner_ref for e in entities if e.owner_ref}
    names: dict[str, str] = {}
    if refs:
        for row in Entity.objects.filter(ref__in=refs).values(
            "ref", "name", "title", shown=KT("spec__profile__displayName")
        ):
            names[row["ref"]] = row["shown"] or row["title"] or row["name"]
    for entity in entities:
        entity.owner_name = names.get(entity.owner_ref) or entity.owner_ref.split("/")[-1]  # type: ignore[attr-defined]


def facets() -> dict[str, list[str]]:
    """Values for the filter drop-downs (two small indexed queries; kinds: `kind_tabs`)."""
    return {
        "types": [
            t
            for t in Entity.objects.order_by("spec_type")
            .values_list("spec_type", flat=True)
            .distinct()
            if t
        ],
        "lifecycles": [
            t
            for t in Entity.objects.order_by("lifecycle")
            .values_list("lifecycle", flat=True)
            .distinct()
            if t
        ],
    }


def entity_by_name(kind: str, namespace: str, name: str) -> Entity | None:
    return (
        Entity.objects.select_related("location", "user")
        .filter(ref=f"{kind}:{namespace}/{name}".lower())
        .first()
    )


def relations_of(entity: Entity) -> list[Relation]:
    """Every relation whose source is `entity`, with its target entity (one query); a relation
    emitted by both ends (members/memberOf) is listed once."""
    rows = list(
        Relation.objects.filter(source=entity)
        .select_related("target")
        .only(
            "id",
            "type",
            "target_ref",
            "source_id",
            "target__id",
            "target__kind",
            "target__namespace",
            "target__name",
            "target__title",
            "target__description",
            "target__spec_type",
            "target__lifecycle",
        )
        .annotate(
            target_profile_name=KeyTextTransform(
                "displayName", KeyTransform("profile", "target__spec")
            )
        )
        .order_by("type", "target_ref")
    )
    seen: set[tuple[str, str]] = set()
    unique: list[Relation] = []
    for row in rows:
        if (row.type, row.target_ref) not in seen:
            seen.add((row.type, row.target_ref))
            unique.append(row)
    return unique


def my_entities(user: AbstractBaseUser | AnonymousUser, limit: int = 6) -> list[Entity]:
    if not user.is_authenticated:
        return []
    return list(
        Entity.objects.only(*LIST_COLUMNS)
        .filter(owned_by_user(user), kind__in=["Component", "API", "Resource", "System"])
        .order_by("kind", "name")[:limit]
    )


def owned_with_errors(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Entity]:
    """Entities the user's teams own that have processing errors or are orphaned."""
    return (
        Entity.objects.only(*LIST_COLUMNS)
        .filter(owned_by_user(user))
        .filter(Q(orphaned_at__isnull=False) | ~Q(processing_errors=[]))
    )


def team_owns_repository(groups: set[str], full_name: str) -> bool:
    """Whether `owner/name` belongs to one of `groups`: the owner is one of the groups' names
    (a team's own organisation or namespace), or a component the groups own names it in its
    `<host>/project-slug` annotation."""
    full_name = full_name.strip("/").lower()
    if full_name.split("/", 1)[0] in {ref.rsplit("/", 1)[-1].lower() for ref in groups}:
        return True
    for found in Entity.objects.filter(kind__iexact="component", owner_ref__in=groups).values_list(
        "metadata__annotations", flat=True
    ):
        for key, value in (found or {}).items():
            if is_project_slug(key) and str(value).strip("/").lower() == full_name:
                return True
    return False
