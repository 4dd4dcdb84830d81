"""Upgrade pages: preview the diff, start an upgrade (answering new questions), roll out."""

from __future__ import annotations

from typing import Any

import yaml
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from catalog.models import Entity
from portal.auth.decorators import platform_admin_required
from portal.htmx import render_page
from portal.providers.base import ProviderError
from scaffolder.models import ServiceProvenance, TemplateVersion
from scaffolder.run_kind import entity_url
from scaffolder.services import template_of
from scaffolder.upgrades.queries import adoptable_templates, current_upgrade, repository_of
from scaffolder.upgrades.render import RenderFailed, missing_answers
from scaffolder.upgrades.services import (
    UpgradeError,
    adopt_repository,
    latest_version,
    may_adopt,
    may_upgrade,
    plan_upgrade,
    roll_out,
    start_upgrade,
)

ROLLOUT_REFUSED = "Rolling a template version out to services is for the platform team."


def _provenance(request: HttpRequest, pk: int) -> ServiceProvenance:
    provenance = get_object_or_404(ServiceProvenance.objects.select_related("version"), pk=pk)
    if not may_upgrade(request.user, provenance):
        raise Http404("No such service")  # outsiders do not learn it exists
    return provenance


def _target(provenance: ServiceProvenance) -> TemplateVersion:
    latest = latest_version(provenance.template_ref)
    if latest is None or latest.version <= provenance.version.version:
        raise Http404("No newer version")
    return latest


def _answers(request: HttpRequest, names: list[str]) -> dict[str, str]:
    return {name: request.POST[name] for name in names if request.POST.get(name, "").strip()}


def upgrade_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The diff the upgrade PR would contain, before any PR is opened."""
    provenance = _provenance(request, pk)
    to_version = _target(provenance)
    missing = missing_answers(template_of(to_version), provenance.values)
    answers = _answers(request, [m.name for m in missing]) if request.method == "POST" else {}
    context = {
        "provenance": provenance,
        "to_version": to_version,
        "missing": missing,
        "answers": answers,
        "upgrade": current_upgrade(provenance, to_version),
        "back": entity_url(provenance.entity_ref) if provenance.entity_ref else "",
    }
    if missing and len(answers) < len(missing):
        return render_page(request, "scaffolder/upgrades/preview.html", context)
    try:
        context["plan"] = plan_upgrade(provenance, to_version, answers)
    except (UpgradeError, RenderFailed, ProviderError) as exc:
        context["problem"] = str(exc)
    return render_page(request, "scaffolder/upgrades/preview.html", context)


@require_POST
def upgrade_start(request: HttpRequest, pk: int) -> HttpResponse:
    """Open (or update) the upgrade PR: a run per service."""
    provenance = _provenance(request, pk)
    to_version = _target(provenance)
    names = [m.name for m in missing_answers(template_of(to_version), provenance.values)]
    try:
        upgrade = start_upgrade(
            provenance=provenance,
            to_version=to_version,
            actor=request.user,  # type: ignore[arg-type]
            answers=_answers(request, names),
        )
    except UpgradeError as exc:
        messages.error(request, str(exc))
        return redirect("scaffolder:upgrade-preview", provenance.pk)
    if upgrade is None:
        messages.info(request, f"{provenance.repository} is already on v{to_version.version}.")
        return redirect("scaffolder:upgrade-preview", provenance.pk)
    if upgrade.run_pk is None:
        messages.warning(request, "The new version asks for values it has no default for.")
        return redirect("scaffolder:upgrade-preview", provenance.pk)
    messages.success(request, f"Upgrading {provenance.repository} to v{to_version.version}.")
    return redirect("runs:run-detail", upgrade.run_pk)


def adopt(request: HttpRequest) -> HttpResponse:
    """Link a component's existing repository to a template version and values."""
    entity = get_object_or_404(Entity, ref=request.GET.get("component", ""), kind="Component")
    repository = repository_of(entity)
    if not repository or not may_adopt(request.user, entity):
        raise Http404("No such component")
    templates = adoptable_templates()
    default_values = (
        f"name: {entity.name}\nowner: {entity.owner_ref}\n"
        f"repoUrl: localhost?owner={repository.split('/')[0]}&repo={repository.split('/')[-1]}\n"
    )
    context: dict[str, Any] = {"entity": entity, "repository": repository,
                               "templates": templates, "values_text": default_values,
                               "problems": []}  # fmt: skip
    if request.method != "POST":
        return render_page(request, "scaffolder/upgrades/adopt.html", context)
    context["values_text"] = request.POST.get("values", "")
    version = next((t for t in templates if str(t.pk) == request.POST.get("template")), None)
    try:
        values = yaml.safe_load(context["values_text"] or "{}")
    except yaml.YAMLError as exc:
        values, context["problems"] = None, [f"The values are not valid YAML: {exc}"]
    if values is not None and not isinstance(values, dict):
        context["problems"] = ["The values must be a mapping, one `name: value` per line."]
    if version is None:
        context["problems"].append("Pick one of the templates.")
    if context["problems"]:
        return render_page(request, "scaffolder/upgrades/adopt.html", context, status=422)
    try:
        adopt_repository(repository=repository, version=version, values=values,  # type: ignore[arg-type]
                         actor=request.user)  # type: ignore[arg-type]  # fmt: skip
    except UpgradeError as exc:
        context["problems"] = [str(exc)]
        return render_page(request, "scaffolder/upgrades/adopt.html", context, status=422)
    messages.success(request, f"{repository} is linked to {version.ref} v{version.version}.")  # type: ignore[union-attr]
    return redirect(f"{entity_url(entity.ref)}?tab=template")


@platform_admin_required(ROLLOUT_REFUSED)
@require_POST
def upgrade_rollout(request: HttpRequest, version_id: int) -> HttpResponse:
    """Platform admins: roll the version out to all or the selected services."""
    version = get_object_or_404(TemplateVersion, pk=version_id)
    chosen = request.POST.getlist("repository")
    try:
        started = roll_out(
            to_version=version,
            actor=request.user,  # type: ignore[arg-type]
            repositories=chosen if request.POST.get("scope") != "all" else None,
        )
    except UpgradeError as exc:
        messages.error(request, str(exc))
    else:
        waiting = sum(1 for u in started if u.run_pk is None)
        messages.success(
            request,
            f"Rolling out v{version.version} to {len(started) - waiting} service(s)"
            + (f"; {waiting} wait for their owners' answers." if waiting else "."),
        )
    return redirect(f"{entity_url(version.ref)}?tab=rollout")
