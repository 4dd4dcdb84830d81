"""The rule registry: each rule is `function(component, context) -> (passed, reason)`.

`passed` is True, False, or None (unknown: the rule cannot tell, e.g. no repository annotation).
Rules work in bulk: an optional `prepare(components, context)` runs ONCE per evaluation batch and
whatever it returns is `context.data` for every component of that batch, so a rule never queries
per component. A rule (or its prepare) that raises marks the check "unknown" with the reason.

Add a rule with::

    @register_rule("my-rule", "Does the thing", prepare=optional_batch_loader)
    def my_rule(component: Entity, context: RuleContext) -> tuple[bool | None, str]: ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from catalog.models import Entity
from metrics import dora
from metrics.linking import ARGOCD_ANNOTATION, OPSGENIE_ANNOTATION, PAGERDUTY_ANNOTATION
from metrics.models import DailyRollup
from metrics.rollups import COUNT_FIELDS, summarize
from portal.annotations import ON_CALL, TECHDOCS_REF, TEMPLATE, is_project_slug

TECHDOCS_ANNOTATION = TECHDOCS_REF
ONCALL_ANNOTATION = ON_CALL
BAND_ORDER = ("low", "medium", "high", "elite")


@dataclass
class BatchCache:
    """Shared by every check of one batch: repository file listings, read once per repo."""

    repo_files: dict[str, list[str] | Exception | None] = field(default_factory=dict)
    now: datetime = field(default_factory=timezone.now)

    def files_of(self, slug: str) -> list[str] | None:
        """Files of repository `owner/name` on its default branch; None when it does not exist.
        A provider error is remembered and raised again for every component using that repo."""
        if slug not in self.repo_files:
            try:
                self.repo_files[slug] = _list_repo(slug)
            except Exception as exc:  # re-raised per component below
                self.repo_files[slug] = exc
        value = self.repo_files[slug]
        if isinstance(value, Exception):
            raise value
        return value


@dataclass
class RuleContext:
    """What a rule sees: the check's parameters, the batch data from prepare, the batch cache."""

    params: dict[str, Any]
    cache: BatchCache
    data: Any = None


RuleFunc = Callable[[Entity, RuleContext], tuple[bool | None, str]]
PrepareFunc = Callable[[Sequence[Entity], RuleContext], Any]


@dataclass(frozen=True)
class Rule:
    key: str
    title: str
    func: RuleFunc
    prepare: PrepareFunc | None = None


RULES: dict[str, Rule] = {}


def register_rule(
    key: str, title: str, *, prepare: PrepareFunc | None = None
) -> Callable[[RuleFunc], RuleFunc]:
    def decorator(func: RuleFunc) -> RuleFunc:
        RULES[key] = Rule(key=key, title=title, func=func, prepare=prepare)
        return func

    return decorator


def rule_choices() -> list[tuple[str, str]]:
    return [(r.key, r.title) for r in sorted(RULES.values(), key=lambda r: r.key)]


def annotations_of(component: Entity) -> dict[str, Any]:
    value = (component.metadata or {}).get("annotations") or {}
    return value if isinstance(value, dict) else {}


def repo_slug(component: Entity) -> str:
    """`owner/name` from any `<host>/project-slug` annotation (github.com, the local host...)."""
    for key, value in annotations_of(component).items():
        if is_project_slug(key) and value and "/" in str(value):
            return str(value).strip()
    return ""


def _list_repo(slug: str) -> list[str] | None:
    from portal.providers import git_host

    owner, _, name = slug.partition("/")
    host = git_host()
    repo = host.get_repository(owner, name)
    if repo is None:
        return None
    return host.list_files(repo)


# --- owner -----------------------------------------------------------------------------------
def _prepare_owners(components: Sequence[Entity], context: RuleContext) -> set[str]:
    refs = {c.owner_ref.lower() for c in components if c.owner_ref}
    return set(
        Entity.objects.filter(ref__in=refs, kind__in=["Group", "User", "group", "user"])
        .values_list("ref", flat=True)
        .iterator()
    )


@register_rule("owner-exists", "Has an owner that exists in the catalog", prepare=_prepare_owners)
def owner_exists(component: Entity, context: RuleContext) -> tuple[bool | None, str]:
    if not component.owner_ref:
        return False, "spec.owner is not set"
    if component.owner_ref.lower() not in context.data:
        return False, f"owner {component.owner_ref} is not a group or user in the catalog"
    return True, f"owned by {component.owner_ref}"


# --- description and docs ---------------------------------------------------------------------
@register_rule("description-and-docs", "Has a description and TechDocs")
def description_and_docs(component: Entity, context: RuleContext) -> tuple[bool | None, str]:
    missing = []
    if not (component.description or "").strip():
        missing.append("metadata.description")
    if not annotations_of(component).get(TECHDOCS_ANNOTATION):
        missing.append(f"annotation {TECHDOCS_ANNOTATION}")
    if missing:
        return False, "missing " + " and ".join(missing)
    return True, "description and docs present"


# --- runbook ---------------------------------------------------------------------------------
@register_rule("runbook", "Has a runbook page in its repository")
def runbook(component: Entity, context: RuleContext) -> tuple[bool | None, str]:
    path = str(context.params.get("path") or "docs/runbook.md")
    slug = repo_slug(component)
    if not slug:
        return None, "no repository annotation (<host>/project-slug), cannot look for a runbook"
    files = context.cache.files_of(slug)
    if files is None:
        return False, f"repository {slug} not found"
    if path not in files:
        return False, f"{path} not found in {slug}"
    return True, f"{path} in {slug}"


# --- on-call ---------------------------------------------------------------------------------
ONCALL_KEYS = (PAGERDUTY_ANNOTATION, OPSGENIE_ANNOTATION, ONCALL_ANNOTATION)


@register_rule("on-call", "On-call is configured")
def on_call(component: Entity, context: RuleContext) -> tuple[bool | None, str]:
    found = [k for k in ONCALL_KEYS if annotations_of(component).get(k)]
    if found:
        return True, f"annotation {found[0]}"
    return False, "none of the annotations " + ", ".join(ONCALL_KEYS) + " is set"


# --- CI --------------------------------------------------------------------------------------
@register_rule("ci-workflow", "CI workflow present in the repository")
def ci_workflow(component: Entity, context: RuleContext) -> tuple[bool | None, str]:
    slug = repo_slug(component)
    if not slug:
        return None, "no repository annotation (<host>/project-slug), cannot look for CI"
    files = context.cache.files_of(slug)
    if files is None:
        return False, f"repository {slug} not found"
    workflows = [
        f for f in files if f.startswith(".github/workflows/") and f.endswith((".yml", ".yaml"))
    ]
    if not workflows:
        return False, f"no .github/workflows/*.yml in {slug}"
    return True, f"{len(workflows)} workflow(s) in {slug}"


# --- Argo CD ---------------------------------------------------------------------------------
def _prepare_gitops_apps(components: Sequence[Entity], context: RuleContext) -> Any:
    """Application names committed to the GitOps repository (one listing per batch). A failure
    is returned, not raised, so components with the annotation still pass."""
    slug = str(settings.PAVED_GITOPS_REPO)
    try:
        files = context.cache.files_of(slug) or []
    except Exception as exc:
        return exc
    marker = f"/{settings.PAVED_ARGOCD_NAMESPACE}/application.argoproj.io/"
    return {f.rsplit("/", 1)[-1].removesuffix(".yaml") for f in files if marker in f}


@register_rule("argocd", "Deployed through Argo CD", prepare=_prepare_gitops_apps)
def argocd(component: Entity, context: RuleContext) -> tuple[bool | None, str]:
    app = annotations_of(component).get(ARGOCD_ANNOTATION)
    if app:
        return True, f"Argo CD application {app}"
    apps = context.data
    if isinstance(apps, Exception):
        raise apps
    name = component.name.lower()
    found = sorted(a for a in apps if a == name or a.startswith(f"{name}-"))
    if found:
        return True, f"Application {found[0]} in the GitOps repository"
    return False, f"no {ARGOCD_ANNOTATION} annotation and no Application for {name} in GitOps"


# --- DORA ------------------------------------------------------------------------------------
def _prepare_dora(components: Sequence[Entity], context: RuleContext) -> dict[str, dict[str, Any]]:
    """Rollup sums per component over the window: one grouped query per batch."""
    days = int(context.params.get("days", 30))
    env = str(context.params.get("environment", "production"))
    since = (context.cache.now - timedelta(days=days)).date()
    scopes = {f"component:{c.name.lower()}" for c in components}
    rows = (
        DailyRollup.objects.filter(scope__in=scopes, environment=env, day__gt=since)
        .values("scope")
        .annotate(**{f: Sum(f) for f in COUNT_FIELDS})
    )
    return {str(row["scope"]): dict(row) for row in rows}


@register_rule("dora-band", "DORA band at least medium over 30 days", prepare=_prepare_dora)
def dora_band(component: Entity, context: RuleContext) -> tuple[bool | None, str]:
    days = int(context.params.get("days", 30))
    minimum = str(context.params.get("min_band", "medium"))
    row = context.data.get(f"component:{component.name.lower()}")
    if not row or not row.get("deployments"):
        return False, f"no production deployments in the last {days} days"
    s = summarize([row])
    bands = {
        "deployment frequency": dora.band("deployment_frequency", s["deployments"] / days),
        "lead time": dora.band("lead_time", s["lead_time_median_hours"]),
        "change failure rate": dora.band("change_failure_rate", s["change_failure_rate"]),
        "time to restore": dora.band("recovery_time", s["recovery_time_median_hours"]),
    }
    floor = BAND_ORDER.index(minimum)
    below = [f"{k} is {b}" for k, b in bands.items() if b and BAND_ORDER.index(b) < floor]
    if below:
        return False, "; ".join(below) + f" (needs {minimum} or better)"
    return True, ", ".join(f"{k} {b}" for k, b in bands.items() if b)


# --- golden path -----------------------------------------------------------------------------
def _prepare_golden_path(components: Sequence[Entity], context: RuleContext) -> set[int]:
    # The SAME function the adoption metric uses, so both numbers always agree.
    from metrics.platform import golden_path_components

    return golden_path_components(Entity.objects.filter(pk__in=[c.pk for c in components]))


@register_rule(
    "golden-path",
    "Created from a recommended template or conforming to it",
    prepare=_prepare_golden_path,
)
def golden_path(component: Entity, context: RuleContext) -> tuple[bool | None, str]:
    if component.pk in context.data:
        template = annotations_of(component).get(TEMPLATE)
        return True, f"on the golden path ({template})" if template else "on the golden path"
    return False, "not created from a recommended template and no paved.dev/template annotation"


# --- processing errors -----------------------------------------------------------------------
@register_rule("no-processing-errors", "No open processing errors")
def no_processing_errors(component: Entity, context: RuleContext) -> tuple[bool | None, str]:
    errors = component.processing_errors or []
    if errors:
        first = errors[0] if isinstance(errors[0], str) else str(errors[0])
        return False, f"{len(errors)} processing error(s), e.g. {first}"
    return True, "no processing errors"


# --- provisioning warnings -------------------------------------------------------------------
def _prepare_provisioning_warnings(
    components: Sequence[Entity], context: RuleContext
) -> dict[str, tuple[int, int, str]]:
    """repository slug -> (run id, number of warnings, first warning) for the repositories of
    this batch that a Paved run created and whose steps finished with warnings."""
    from runs.models import ProvisionedResource, Step

    slugs = {repo_slug(c).lower() for c in components} - {""}
    runs = dict(
        ProvisionedResource.objects.filter(kind="repository", key__in=slugs, run__isnull=False)
        .values_list("run_id", "key")
        .iterator()
    )
    found: dict[str, tuple[int, int, str]] = {}
    steps = Step.objects.filter(run_id__in=runs, outputs__has_key="warnings").order_by("position")
    for run_id, outputs in steps.values_list("run_id", "outputs").iterator():
        warnings = [str(w) for w in (outputs or {}).get("warnings") or []]
        if not warnings:
            continue
        slug = runs[run_id]
        _, count, first = found.get(slug, (run_id, 0, warnings[0]))
        found[slug] = (run_id, count + len(warnings), first)
    return found


@register_rule(
    "provisioned-without-warnings",
    "Provisioned without warnings",
    prepare=_prepare_provisioning_warnings,
)
def provisioned_without_warnings(
    component: Entity, context: RuleContext
) -> tuple[bool | None, str]:
    found = context.data.get(repo_slug(component).lower())
    if found is None:
        return True, "the run that created its repository (if any) finished without warnings"
    run_id, count, first = found
    return False, f"run #{run_id} finished with {count} warning(s), e.g. {first}"
