"""Platform metrics: golden-path adoption, self-service rate, template time-to-production,
portal daily active users and developer satisfaction.

Golden-path conformance is a small rule registry so other apps (scaffolder templates, scorecards)
can refine what "on the golden path" means without this app importing them.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from catalog.models import Entity
from infra.models import RequestStatus, ResourceRequest
from metrics.models import DailyActiveUser, Deployment, DeploymentStatus
from portal.annotations import TEMPLATE
from runs.models import Run, RunLogLine, RunStatus
from scaffolder.models import ServiceProvenance, TemplateVersion

TEMPLATE_ANNOTATION = TEMPLATE
INACTIVE_LIFECYCLES = ("deprecated", "retired", "archived")

# A rule takes the active components and returns the pks that are on the golden path.
GoldenPathRule = Callable[[QuerySet[Entity]], set[int]]
_RULES: dict[str, GoldenPathRule] = {}


def register_golden_path_rule(name: str, rule: GoldenPathRule) -> None:
    """Add (or replace) a rule; a component is on the golden path when any rule says so."""
    _RULES[name] = rule


def _annotated(components: QuerySet[Entity]) -> set[int]:
    return set(
        components.filter(metadata__annotations__has_key=TEMPLATE_ANNOTATION).values_list(
            "pk", flat=True
        )
    )


def _created_by_recommended_template(components: QuerySet[Entity]) -> set[int]:
    """Components a successful scaffolder run created (context["component_ref"]), unless the
    run says its template was not recommended (context["recommended"] is False)."""
    refs = {
        str(ref).lower()
        for ref, recommended in scaffolder_runs().values_list(
            "context__component_ref", "context__recommended"
        )
        if ref and recommended is not False
    }
    if not refs:
        return set()
    return set(components.filter(ref__in=refs).values_list("pk", flat=True))


register_golden_path_rule("annotation", _annotated)
register_golden_path_rule("recommended-template", _created_by_recommended_template)


def active_components() -> QuerySet[Entity]:
    return Entity.objects.filter(kind__iexact="component").exclude(
        lifecycle__in=INACTIVE_LIFECYCLES
    )


def golden_path_components(components: QuerySet[Entity] | None = None) -> set[int]:
    components = components if components is not None else active_components()
    found: set[int] = set()
    for rule in _RULES.values():
        found |= rule(components)
    return found


def is_on_golden_path(entity: Entity) -> bool:
    return entity.pk in golden_path_components(Entity.objects.filter(pk=entity.pk))


def golden_path_adoption(components: QuerySet[Entity] | None = None) -> dict[str, Any]:
    components = components if components is not None else active_components()
    total = components.count()
    on_path = len(golden_path_components(components))
    return {
        "components": total,
        "on_golden_path": on_path,
        "rate": on_path / total if total else None,
        **template_version_currency(),
    }


def template_version_currency(
    *, behind: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """How current the services made from templates are (docs/upgrades.md): how many are on
    their template's latest version, the median age of the version in use, and the services
    more than `behind` versions behind (PAVED_UPGRADE_BEHIND_VERSIONS). Two queries."""
    behind = settings.PAVED_UPGRADE_BEHIND_VERSIONS if behind is None else behind
    now = now or timezone.now()
    latest = dict(
        TemplateVersion.objects.values("ref").annotate(top=Max("version")).values_list("ref", "top")
    )
    services = list(
        ServiceProvenance.objects.select_related("version").order_by("template_ref", "repository")
    )
    ages = [(now - p.version.created_at).total_seconds() / 86400 for p in services]
    lagging = [
        {"repository": p.repository, "template": p.template_ref, "version": p.version.version,
         "latest": latest.get(p.template_ref, p.version.version),
         "behind": latest.get(p.template_ref, p.version.version) - p.version.version}
        for p in services
        if latest.get(p.template_ref, p.version.version) - p.version.version > behind
    ]  # fmt: skip
    on_latest = sum(1 for p in services if p.version.version >= latest.get(p.template_ref, 0))
    return {
        "template_services": len(services),
        "on_latest_version": on_latest,
        "latest_version_rate": on_latest / len(services) if services else None,
        "median_version_age_days": round(statistics.median(ages), 1) if ages else None,
        "behind_threshold": behind,
        "services_behind": lagging,
    }


def scaffolder_runs() -> QuerySet[Run]:
    return Run.objects.filter(kind="scaffolder", status=RunStatus.SUCCEEDED)


RETRY_LOG_PREFIX = "Retry requested by"  # written by runs.runner.retry_run


def self_service_rate(since: date, until: date) -> dict[str, Any]:
    """Share of developer requests fulfilled without a human, from the records the platform
    keeps of them (nothing a request could merely claim about itself):

    - scaffolder runs that finished in the window: self-service when the run succeeded and no
      person retried it (the engine logs "Retry requested by ..." when someone does);
    - infra requests settled in the window (reached ready, or ended failed or rejected):
      self-service when the request reached ready, its policy needed no approval and nobody
      retried one of its runs (ResourceRequest.needed_approval and fulfilled_without_human,
      recorded by the infra app as the request moves along).
    """
    runs = Run.objects.filter(
        kind="scaffolder",
        status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED],
        finished_at__date__gte=since,
        finished_at__date__lte=until,
    )
    retried = RunLogLine.objects.filter(run_id=OuterRef("pk"), message__startswith=RETRY_LOG_PREFIX)
    scaffolder = runs.aggregate(
        total=Count("pk"),
        auto=Count("pk", filter=Q(Q(status=RunStatus.SUCCEEDED), ~Exists(retried))),
    )
    settled = ResourceRequest.objects.filter(
        Q(ready_at__date__gte=since, ready_at__date__lte=until)
        | Q(
            ready_at__isnull=True,
            status__in=[RequestStatus.FAILED, RequestStatus.REJECTED],
            updated_at__date__gte=since,
            updated_at__date__lte=until,
        )
    )
    infra = settled.aggregate(
        total=Count("pk"),
        auto=Count(
            "pk",
            filter=Q(ready_at__isnull=False, needed_approval=False, fulfilled_without_human=True),
        ),
        approval=Count("pk", filter=Q(needed_approval=True)),
    )
    total = scaffolder["total"] + infra["total"]
    automatic = scaffolder["auto"] + infra["auto"]
    return {
        "requests": total,
        "self_service": automatic,
        "rate": automatic / total if total else None,
        "scaffolder": {"requests": scaffolder["total"], "self_service": scaffolder["auto"]},
        "infra": {
            "requests": infra["total"],
            "self_service": infra["auto"],
            "needed_approval": infra["approval"],
        },
    }


def template_time_to_production(since: date, until: date) -> dict[str, Any]:
    """From a template run starting to the first successful deployment of the component it
    created (its `catalog:register` step records `component_ref` on the run), for runs finished
    in the window. The first deployment counts in whatever environment it happened: the golden
    path's first environment is the one its Argo CD application deploys to, dev or staging.

    Returned per run (`services`, newest first), per template (`templates`) and overall (median
    over the deployed runs, in hours as the weekly report reads it)."""
    runs = list(
        scaffolder_runs()
        .filter(finished_at__date__gte=since, finished_at__date__lte=until)
        .exclude(context__component_ref=None)
        .order_by("-finished_at")
        .values_list("context__component_ref", "context__template__ref", "started_at", "created_at")
    )
    started = [(ref, template, begin or created) for ref, template, begin, created in runs if ref]
    keys = {_component_key(ref) for ref, _, _ in started}
    earliest = min((begin for _, _, begin in started), default=None)
    deployments: dict[str, list[tuple[Any, str]]] = {}
    if earliest is not None:
        for key, at, environment in (
            Deployment.objects.filter(
                component_key__in=keys, status=DeploymentStatus.SUCCESS, finished_at__gte=earliest
            )
            .order_by("finished_at")
            .values_list("component_key", "finished_at", "environment")
        ):
            deployments.setdefault(key, []).append((at, environment))
    services: list[dict[str, Any]] = []
    per_template: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for ref, template, begin in started:
        key = _component_key(ref)
        first = next(((at, env) for at, env in deployments.get(key, []) if at >= begin), None)
        template_ref = str(template or "")
        counts[template_ref] = counts.get(template_ref, 0) + 1
        minutes = (first[0] - begin).total_seconds() / 60 if first else None
        if minutes is not None:
            per_template.setdefault(template_ref, []).append(minutes)
        services.append({"component": key, "component_ref": ref, "template": template_ref,
                         "started_at": begin, "first_deployed_at": first[0] if first else None,
                         "environment": first[1] if first else "", "minutes": minutes})  # fmt: skip
    hours = [row["minutes"] / 60 for row in services if row["minutes"] is not None]
    templates = [
        {
            "template": ref,
            "runs": counts[ref],
            "deployed": len(per_template.get(ref, [])),
            "median_minutes": statistics.median(per_template[ref]) if ref in per_template else None,
        }
        for ref in sorted(counts)
    ]
    return {
        "runs": len(started),
        "deployed": len(hours),
        "median_hours": statistics.median(hours) if hours else None,
        "hours": hours,
        "services": services,
        "templates": templates,
    }


def _component_key(ref: str) -> str:
    return str(ref).rsplit("/", 1)[-1].lower()


def daily_active_users(since: date, until: date) -> dict[str, Any]:
    per_day = dict(
        DailyActiveUser.objects.filter(day__gte=since, day__lte=until)
        .values("day")
        .annotate(n=Count("user_id", distinct=True))
        .values_list("day", "n")
    )
    days = [since + timedelta(days=i) for i in range((until - since).days + 1)]
    series = [(d, per_day.get(d, 0)) for d in days]
    return {
        "series": series,
        "average": sum(n for _, n in series) / len(series) if series else 0.0,
        "latest": series[-1][1] if series else 0,
    }
