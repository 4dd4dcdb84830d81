"""Template upgrade use cases: plan (render, merge), start one, roll out many, deliver a PR."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from catalog.queries import group_refs_for_user
from portal import audit
from portal.annotations import TEMPLATE_CHANGELOG
from portal.providers import git_host
from portal.providers.base import GitHost, PermanentProviderError, ProviderError, RepoRef
from runs.authority import (
    Authority,
    normalise_group,
    record_for,
    reserve,
    team_owns_repository,
)
from runs.models import Run
from runs.runner import RunStartError, StepSpec, start_run
from scaffolder.loader import Template
from scaffolder.models import (
    ProvenanceSource,
    ServiceProvenance,
    TemplateUpgrade,
    TemplateVersion,
    UpgradeState,
)
from scaffolder.services import template_of
from scaffolder.upgrades.merge import three_way_merge
from scaffolder.upgrades.provenance import CATALOG_FILE, _save, version_in_repository
from scaffolder.upgrades.render import RenderFailed, missing_answers, render_version

RUN_KIND = "upgrade"
STEP_KEY = "upgrade"
STEP_KIND = "upgrade:pull-request"
CHANGELOG_ANNOTATION = TEMPLATE_CHANGELOG

logger = logging.getLogger(__name__)


class UpgradeError(ValueError):
    """An upgrade that cannot be started or delivered, said in plain words."""


@dataclass
class UpgradePlan:
    """What the pull request would contain."""

    files: dict[str, bytes]
    ours: dict[str, bytes]
    conflicts: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[str]:
        return sorted(p for p, data in self.files.items() if self.ours.get(p) != data)

    @property
    def deleted(self) -> list[str]:
        return sorted(p for p in self.ours if p not in self.files)

    @property
    def empty(self) -> bool:
        return not self.changed and not self.deleted

    def diff(self) -> str:
        """A unified diff from the repository's default branch to the upgraded tree."""
        chunks: list[str] = []
        for path in sorted(set(self.changed) | set(self.deleted)):
            before, after = _text(self.ours.get(path)), _text(self.files.get(path))
            chunks.extend(
                difflib.unified_diff(
                    before.splitlines(keepends=True),
                    after.splitlines(keepends=True),
                    fromfile=f"a/{path}" if path in self.ours else "/dev/null",
                    tofile=f"b/{path}" if path in self.files else "/dev/null",
                )
            )
        return "".join(chunks)


def _text(data: bytes | None) -> str:
    if data is None:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "(binary file)\n"


def may_upgrade(user: AbstractBaseUser | AnonymousUser, provenance: ServiceProvenance) -> bool:
    """Owners upgrade their own services; platform admins any."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_staff", False):
        return True
    return bool(provenance.owner_ref) and provenance.owner_ref in group_refs_for_user(user)  # type: ignore[arg-type]


def may_adopt(user: AbstractBaseUser | AnonymousUser, entity: Any) -> bool:
    """The component's owning team and platform admins may link it to a template."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_staff", False):
        return True
    return bool(entity.owner_ref) and entity.owner_ref in group_refs_for_user(user)  # type: ignore[arg-type]


def latest_version(template_ref: str) -> TemplateVersion | None:
    return TemplateVersion.objects.filter(ref=template_ref).order_by("-version").first()


def branch_name(provenance: ServiceProvenance) -> str:
    # One branch per service and template: a newer upgrade updates the same pull request.
    return f"paved/upgrade-{provenance.template_ref.rsplit('/', 1)[-1]}"


def _repository(host: GitHost, provenance: ServiceProvenance) -> RepoRef:
    owner, _, name = provenance.repository.partition("/")
    repo = host.get_repository(owner, name)
    if repo is None:
        raise UpgradeError(f"repository {provenance.repository} does not exist on {host.name}")
    return repo


def read_tree(host: GitHost, repo: RepoRef, ref: str) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path in host.list_files(repo, ref=ref):
        data = host.read_file(repo, path, ref=ref)
        if data is not None:
            files[path] = data
    return files


def plan_upgrade(
    provenance: ServiceProvenance,
    to_version: TemplateVersion,
    answers: dict[str, Any] | None = None,
    *,
    host: GitHost | None = None,
) -> UpgradePlan:
    """Render the service's version and `to_version`, and merge onto its default branch."""
    host = host or git_host()
    repo = _repository(host, provenance)
    ours = read_tree(host, repo, repo.default_branch)
    base = render_version(provenance.version, provenance)
    theirs = render_version(to_version, provenance, answers)
    merged = three_way_merge(base, ours, theirs)
    return UpgradePlan(files=merged.files, ours=ours, conflicts=merged.conflicts, kept=merged.kept)


def sync_from_repository(
    provenance: ServiceProvenance, *, host: GitHost | None = None
) -> ServiceProvenance:
    """The repository's catalog-info.yaml says which version it is on now (an upgrade PR that
    was merged moved it): follow it, and mark that upgrade merged."""
    host = host or git_host()
    owner, _, name = provenance.repository.partition("/")
    repo = host.get_repository(owner, name)
    data = host.read_file(repo, CATALOG_FILE, ref=repo.default_branch) if repo else None
    named = version_in_repository(data.decode("utf-8", "replace")) if data else None
    if named is None or named[0] != provenance.template_ref:
        return provenance
    if named[1] == provenance.version.content_hash:
        return provenance
    version = TemplateVersion.objects.filter(ref=named[0], content_hash=named[1]).first()
    if version is None:
        return provenance
    provenance.version = version
    provenance.version_since = timezone.now()
    provenance.save(update_fields=["version", "version_since"])
    TemplateUpgrade.objects.filter(provenance=provenance, to_version=version).update(
        state=UpgradeState.MERGED, updated_at=timezone.now()
    )
    return provenance


def start_upgrade(
    *,
    provenance: ServiceProvenance,
    to_version: TemplateVersion,
    actor: User,
    answers: dict[str, Any] | None = None,
    template: Template | None = None,
) -> TemplateUpgrade | None:
    """Start the run that delivers the upgrade as a pull request. None when the service is
    already on `to_version` (nothing to do); an upgrade waiting for answers when the new
    version asks for a required value without a default."""
    if not may_upgrade(actor, provenance):
        raise UpgradeError(
            f"{actor.get_username()} may not upgrade {provenance.repository}: only its owning "
            f"team ({provenance.owner_ref or 'none recorded'}) and platform admins may"
        )
    if to_version.ref != provenance.template_ref:
        raise UpgradeError(
            f"{provenance.repository} is made from {provenance.template_ref}, not {to_version.ref}"
        )
    if provenance.version_id == to_version.pk:
        return None
    if to_version.version < provenance.version.version:
        raise UpgradeError(
            f"{provenance.repository} is on v{provenance.version.version}; "
            f"v{to_version.version} is older"
        )
    answers = dict(answers or {})
    template = template or template_of(to_version)  # a rollout loads it once for all
    missing = missing_answers(template, {**provenance.values, **answers})
    with transaction.atomic():
        upgrade, _ = TemplateUpgrade.objects.update_or_create(
            provenance=provenance,
            to_version=to_version,
            defaults={
                "from_version": provenance.version,
                "answers": answers,
                "missing": [m.name for m in missing],
                "requested_by": actor,
                "updated_at": timezone.now(),
                "state": UpgradeState.WAITING if missing else UpgradeState.RUNNING,
            },
        )
        if missing:
            return upgrade
        run = _start_run(upgrade, actor)
        upgrade.run_pk = run.pk
        upgrade.save(update_fields=["run_pk"])
        audit.record(
            actor=actor,
            action="template.upgrade.started",
            target=upgrade,
            target_label=provenance.repository,
            after={"from": provenance.version.version, "to": to_version.version, "run": run.pk},
        )
    return upgrade


def _start_run(upgrade: TemplateUpgrade, actor: User) -> Run:
    provenance, to_version = upgrade.provenance, upgrade.to_version
    try:
        return start_run(
            kind=RUN_KIND,
            title=f"Upgrade {provenance.repository} to {to_version.ref} v{to_version.version}",
            steps=[
                StepSpec(
                    key=STEP_KEY,
                    kind=STEP_KIND,
                    name="Merge the new template version and open the pull request",
                    inputs={"upgrade": upgrade.pk},
                )
            ],
            actor=actor,
            inputs={"repository": provenance.repository, "to_version": to_version.version},
            subject=f"scaffolder.upgrade:{upgrade.pk}",
            owner_ref=provenance.owner_ref,
        )
    except RunStartError as exc:
        raise UpgradeError("; ".join(exc.problems)) from None


def roll_out(
    *,
    to_version: TemplateVersion,
    actor: User,
    repositories: Iterable[str] | None = None,
) -> list[TemplateUpgrade]:
    """Platform admins: start the upgrade to `to_version` for every service made from its
    template (or the chosen ones). Services already on it get nothing; without a choice, nor
    do services whose team declined this version's pull request."""
    if not actor.is_staff:
        raise UpgradeError("only platform admins roll out an upgrade across teams")
    services = ServiceProvenance.objects.filter(template_ref=to_version.ref).select_related(
        "version"
    )
    if repositories is not None:
        services = services.filter(repository__in=[r.lower() for r in repositories])
    declined: set[int] = set()
    if repositories is None:  # "all behind" respects a team's no; choosing a service re-opens
        declined = set(
            TemplateUpgrade.objects.filter(
                to_version=to_version, state=UpgradeState.DECLINED
            ).values_list("provenance_id", flat=True)
        )
    started: list[TemplateUpgrade] = []
    template = template_of(to_version)
    for provenance in services:
        if provenance.version.version >= to_version.version or provenance.pk in declined:
            continue
        upgrade = start_upgrade(
            provenance=provenance, to_version=to_version, actor=actor, template=template
        )
        if upgrade is not None:
            started.append(upgrade)
    return started


def adopt_repository(
    *, repository: str, version: TemplateVersion, values: dict[str, Any], actor: User
) -> ServiceProvenance:
    """Link a repository Paved did not make to a template version (the owner's choice of
    template and values). Paved renders it once to prove the values work."""
    host = git_host()
    owner, _, name = repository.strip("/").partition("/")
    repo = host.get_repository(owner, name)
    if repo is None:
        raise UpgradeError(f"repository {repository} does not exist on {host.name}")
    who = Authority(user=actor, groups=group_refs_for_user(actor))
    if not who.unrestricted and not team_owns_repository(who, repo.full_name):
        raise UpgradeError(f"{actor.get_username()} may adopt only their team's repositories")
    owner_ref = normalise_group(str(values["owner"])) if values.get("owner") else ""
    if not owner_ref and who.groups:
        owner_ref = sorted(who.groups)[0]
    if not who.unrestricted and owner_ref not in who.groups:
        raise UpgradeError(f"the owner must be one of your teams; {owner_ref or 'none'} is not")
    probe = ServiceProvenance(
        repository=repo.full_name.lower(), template_ref=version.ref, version=version, values=values
    )
    missing = missing_answers(template_of(version), values)
    if missing:
        raise UpgradeError("missing values: " + ", ".join(m.title for m in missing))
    try:
        render_version(version, probe)
    except RenderFailed as exc:
        raise UpgradeError(str(exc)) from None
    return _save(
        repository=repo.full_name,
        version=version,
        actor=actor,
        git_host=host.name,
        values=values,
        step_outputs={},
        render_context={},
        entity_ref="",
        owner_ref=owner_ref,
        source=ProvenanceSource.ADOPTED,
    )


def pull_request_title(upgrade: TemplateUpgrade) -> str:
    to_version = upgrade.to_version
    return f"Upgrade to {to_version.ref.split(':', 1)[-1]} v{to_version.version}"


def pull_request_body(upgrade: TemplateUpgrade, plan: UpgradePlan) -> str:
    to_version, from_version = upgrade.to_version, upgrade.from_version
    lines = [
        f"Upgrades this repository from **{to_version.ref} v{from_version.version}** "
        f"(`{from_version.content_hash[:12]}`) to **v{to_version.version}** "
        f"(`{to_version.content_hash[:12]}`), opened by Paved.",
        "",
    ]
    metadata = (to_version.definition or {}).get("metadata") or {}
    changelog = ((metadata.get("annotations") or {}).get(CHANGELOG_ANNOTATION) or "").strip()
    if changelog:
        lines += ["## What changed in the template", "", changelog, ""]
    if plan.conflicts or plan.kept:
        lines += ["## Conflicts to resolve before merging", ""]
        lines += [
            f"- `{p}`: both sides changed it; look for the conflict markers" for p in plan.conflicts
        ]
        lines += [
            f"- `{p}`: the template removed it, your team changed it; kept" for p in plan.kept
        ]
        lines.append("")
    else:
        lines += ["No conflicts: your own changes were kept.", ""]
    lines += ["## Files", ""]
    lines += [f"- changed: `{p}`" for p in plan.changed]
    lines += [f"- deleted: `{p}`" for p in plan.deleted]
    return "\n".join(lines)


def deliver(upgrade: TemplateUpgrade, run: Run, log: Any) -> dict[str, Any]:
    """The upgrade step: merge, push the merged tree to the upgrade branch, open or update the
    pull request. Repeating it is harmless (same branch, same pull request)."""
    host = git_host()
    provenance = sync_from_repository(upgrade.provenance, host=host)
    if provenance.version.version >= upgrade.to_version.version:
        log.info("%s is already on v%d; nothing to do.", provenance.repository,
                 provenance.version.version)  # fmt: skip
        _finish(
            upgrade,
            UpgradeState.UP_TO_DATE
            if provenance.version_id == upgrade.to_version_id
            else UpgradeState.MERGED,
        )
        return {"state": upgrade.state}
    upgrade.from_version = provenance.version
    plan = plan_upgrade(provenance, upgrade.to_version, upgrade.answers, host=host)
    if plan.empty:
        log.info("The merged tree equals the default branch; no pull request needed.")
        _finish(upgrade, UpgradeState.UP_TO_DATE)
        return {"state": upgrade.state}
    repo = _repository(host, provenance)
    branch = branch_name(provenance)
    _claim_branch(host, repo, branch, run)
    commit = host.commit_files(
        repo,
        plan.files,
        branch=branch,
        delete_missing=True,
        message=f"Upgrade to {upgrade.to_version.ref} v{upgrade.to_version.version}",
    )
    title = pull_request_title(upgrade)
    body = pull_request_body(upgrade, plan)
    pull, created = host.open_pull_request(
        repo, head=branch, base=repo.default_branch, title=title, body=body
    )
    if not created:  # the same PR: it now says what this version brings
        pull = host.update_pull_request(repo, pull.number, title=title, body=body)
    log.info("%s pull request #%d: %s (%d conflict(s)).", "Opened" if created else "Updated",
             pull.number, pull.url, len(plan.conflicts) + len(plan.kept))  # fmt: skip
    upgrade.branch, upgrade.pull_number, upgrade.pull_url = branch, pull.number, pull.url
    upgrade.conflicts = plan.conflicts + plan.kept
    upgrade.changed = plan.changed + plan.deleted
    state = UpgradeState.CONFLICTS if upgrade.conflicts else UpgradeState.OPEN
    _finish(upgrade, state)
    return {
        "pullRequestUrl": pull.url,
        "pullRequestNumber": pull.number,
        "commitHash": commit.sha,
        "conflicts": upgrade.conflicts,
        "state": state,
    }


def _finish(upgrade: TemplateUpgrade, state: str) -> None:
    upgrade.state = state
    upgrade.updated_at = timezone.now()
    upgrade.save()


def _claim_branch(host: GitHost, repo: RepoRef, branch: str, run: Run) -> None:
    """The upgrade branch is Paved's: created by an upgrade, reused by the next. A branch of
    that name made by anyone else is never written."""
    key = f"{repo.full_name}#{branch}".lower()
    claim = record_for("branch", key)
    if claim is not None and claim.step_key != STEP_KEY:
        raise PermanentProviderError(f"branch {branch} of {repo.full_name} belongs to another run")
    if claim is None:
        claim = reserve(kind="branch", key=key, owner_ref=run.owner_ref, run=run, step_key=STEP_KEY)
        if not host.ensure_branch(repo, branch, from_ref=repo.default_branch):
            claim.delete()
            raise PermanentProviderError(
                f"branch {branch} already exists in {repo.full_name} and was not made by Paved; "
                "delete or rename it, then retry"
            )
        return
    host.ensure_branch(repo, branch, from_ref=repo.default_branch)


OPEN_STATES = (UpgradeState.OPEN, UpgradeState.CONFLICTS)


def refresh_pull_request_states(*, host: GitHost | None = None) -> dict[str, int]:
    """Read the pull request of every open upgrade on the git host: merged moves the service to
    the version its repository now names; closed without merging is *declined*. One read per
    pull request; a host that does not answer leaves that upgrade as it was."""
    host = host or git_host()
    upgrades = (
        TemplateUpgrade.objects.filter(
            state__in=OPEN_STATES,
            pull_number__isnull=False,
            provenance__git_host=host.name,
        )
        .select_related("provenance__version")
        .order_by("pk")
    )
    by_pull: dict[tuple[int, int], list[TemplateUpgrade]] = {}
    for upgrade in upgrades:
        by_pull.setdefault((upgrade.provenance_id, upgrade.pull_number or 0), []).append(upgrade)
    counts = {"merged": 0, "declined": 0, "open": 0, "unreadable": 0}
    for rows in by_pull.values():
        try:
            state = _pull_state(host, rows[0])
        except ProviderError as exc:
            logger.warning("could not read %s: %s", rows[0].pull_url, exc)
            counts["unreadable"] += 1
            continue
        if state == "merged":
            sync_from_repository(rows[0].provenance, host=host)
            _mark(rows, UpgradeState.MERGED)
            counts["merged"] += 1
        elif state == "closed":
            _mark(rows, UpgradeState.DECLINED)
            counts["declined"] += 1
        else:
            counts["open"] += 1
    return counts


def _pull_state(host: GitHost, upgrade: TemplateUpgrade) -> str:
    owner, _, name = upgrade.provenance.repository.partition("/")
    repo = host.get_repository(owner, name)
    pull = host.find_pull_request(repo, upgrade.pull_number or 0) if repo else None
    return pull.state if pull else "open"


def _mark(rows: list[TemplateUpgrade], state: str) -> None:
    # Conditional: a re-run that started meanwhile (state running) is not overwritten.
    TemplateUpgrade.objects.filter(pk__in=[u.pk for u in rows], state__in=OPEN_STATES).update(
        state=state, updated_at=timezone.now()
    )
