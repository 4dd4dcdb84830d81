"""Steps act with the authority of the person who started the run, never more.

Every step kind declares whether it writes outside the run's own workspace (`StepKind.writes`)
and, if it does, where (`write_targets`). Before a step runs, the engine passes those writes to
`authorize`, the one place that decides; a step that only learns a target while it works (the
entities in a catalog-info.yaml, a branch that turns out to exist) calls `authorize` itself.
A refusal fails the step before it touches anything, with a message that says who may do it.

What a run creates outside Paved (repositories, branches, namespaces, Argo CD applications) is
recorded in `ProvisionedResource` *before* it is written: the record names the owning team for
later checks, reserves the name against other teams, and lets a retry recognise its own work.
See docs/security.md, "Steps act with the requester's authority".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import Entity
from catalog.queries import group_refs_for_user
from catalog.queries import team_owns_repository as repository_named_by_team
from portal.annotations import REPOSITORY_OWNERS
from portal.providers.base import PermanentProviderError
from runs.models import ProvisionedResource

if TYPE_CHECKING:
    from runs.models import Run

# What a step may write, in `Write.what`.
REPOSITORY = "repository"  # create a repository or commit to it: name = owner/repo
PULL_REQUEST = "pull-request"  # a branch + pull request on an existing repository: owner/repo
NAMESPACE = "namespace"  # a Kubernetes namespace: name, owner = the group it is for
APPLICATION = "application"  # an Argo CD application: name, namespace = its destination
ONCALL = "on-call"  # an on-call service or team: owner = the group it is for
CATALOG = "catalog"  # catalog entities: owner = the group a document names as spec.owner
GITOPS = "gitops"  # the GitOps repository itself: only Paved's internal steps
CATALOG_LOCATION = "catalog-location"  # recorded only: the location a run registered
COMPONENT = "component"  # something for a catalog component (an infra request): its ref


class NotAuthorized(PermanentProviderError):
    """The run's requester may not make this write; nothing was written."""


@dataclass(frozen=True)
class Write:
    """One place outside the run's workspace a step is about to write."""

    what: str
    name: str = ""
    owner: str = ""  # the group the step says will own what it writes
    environment: str = "dev"
    namespace: str = ""  # an application's destination namespace
    host: str = ""  # a repository's git host when a step names one (gitlab); "" = configured


def repository_key(host: str, full_name: str) -> str:
    """The record key of a repository: `owner/name` on the configured git host, `gitlab:owner/
    name` on a host a step names, so the same path on two hosts are two repositories."""
    full_name = full_name.strip("/").lower()
    return f"{host}:{full_name}" if host else full_name


def split_repository_key(key: str) -> tuple[str, str]:
    """(host, owner/name) from a record key made by repository_key."""
    host, sep, full_name = key.partition(":")
    return (host, full_name) if sep else ("", key)


@dataclass
class Authority:
    """Who a run acts for: its requester's groups, or Paved itself for system runs."""

    user: User | None
    groups: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, run: Run) -> Authority:
        user = run.requested_by
        return cls(user=user, groups=group_refs_for_user(user) if user is not None else set())

    @property
    def is_system(self) -> bool:
        return self.user is None

    @property
    def is_admin(self) -> bool:
        return self.user is not None and bool(self.user.is_staff)

    @property
    def name(self) -> str:
        return self.user.get_username() if self.user is not None else "Paved"

    @property
    def unrestricted(self) -> bool:
        return self.is_system or self.is_admin

    @cached_property
    def team_repository_owners(self) -> set[str]:
        """Repository owners (organisations, users) that belong to the requester's teams: the
        team's own name, plus any listed in its Group's `paved.dev/repository-owners`."""
        owners = {ref.rsplit("/", 1)[-1].lower() for ref in self.groups}
        for metadata in Entity.objects.filter(ref__in=self.groups).values_list(
            "metadata", flat=True
        ):
            listed = ((metadata or {}).get("annotations") or {}).get(REPOSITORY_OWNERS)
            owners.update(o.strip().lower() for o in str(listed or "").split(",") if o.strip())
        return owners

    def owns_group(self, group_ref: str) -> bool:
        return self.unrestricted or group_ref in self.groups


def normalise_group(owner: str) -> str:
    """`team-orders`, `default/team-orders` or `group:default/team-orders` -> the full ref."""
    value = owner.strip().lower()
    kind, sep, rest = value.partition(":")
    if not sep:
        kind, rest = "group", value
    if "/" not in rest:
        rest = f"default/{rest}"
    return f"{kind}:{rest}"


def is_gitops_repository(full_name: str) -> bool:
    return full_name.strip("/").lower() == str(settings.PAVED_GITOPS_REPO).strip("/").lower()


def authorize(run: Run, step_key: str, writes: list[Write], *, internal: bool = False) -> None:
    """Refuse (NotAuthorized) unless the run's requester may make every one of `writes`.
    Reserves what the writes create, so a second team cannot take the same name meanwhile."""
    who = Authority.of(run)
    for write in writes:
        _CHECKS[write.what](write, who, run, step_key, internal)


def _refuse(message: str) -> None:
    raise NotAuthorized(message)


def _owner_for_record(who: Authority, run: Run, wanted: str = "") -> str:
    if wanted:
        return wanted
    if run.owner_ref:
        return run.owner_ref
    return sorted(who.groups)[0] if who.groups else ""


def reserve(*, kind: str, key: str, owner_ref: str, run: Run, step_key: str) -> ProvisionedResource:
    """The record for `kind`/`key`: the existing one, or a new one owned by `owner_ref`."""
    key = key.lower()
    existing = ProvisionedResource.objects.filter(kind=kind, key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return ProvisionedResource.objects.create(
                kind=kind, key=key, owner_ref=owner_ref, run=run, step_key=step_key
            )
    except IntegrityError:  # another run reserved it a moment ago
        return ProvisionedResource.objects.get(kind=kind, key=key)


def record_for(kind: str, key: str) -> ProvisionedResource | None:
    return ProvisionedResource.objects.filter(kind=kind, key=key.lower()).first()


def own_record(kind: str, key: str, run: Run, step_key: str) -> ProvisionedResource | None:
    """The record of `kind`/`key` when THIS run's step reserved it, else None."""
    record = record_for(kind, key)
    if record is None or (record.run_id, record.step_key) != (run.pk, step_key):
        return None
    return record


def note_attempt(record: ProvisionedResource) -> None:
    """Say, durably and before the create call, that the step is creating this resource: from
    now on a retry of the step treats what it finds under the name as its own unfinished work."""
    if record.attempted_at is None:
        record.attempted_at = timezone.now()
        record.save(update_fields=["attempted_at"])


def forget_attempt(record: ProvisionedResource) -> None:
    """The name turned out to be taken by someone else meanwhile: never adopt what is there."""
    if record.attempted_at is not None:
        record.attempted_at = None
        record.save(update_fields=["attempted_at"])


def _may_use_record(record: ProvisionedResource, who: Authority, run: Run) -> bool:
    return who.unrestricted or record.run_id == run.pk or record.owner_ref in who.groups


def _check_gitops(write: Write, who: Authority, run: Run, step_key: str, internal: bool) -> None:
    if not internal:
        _refuse(
            "the GitOps repository is written only by Paved's own steps (namespaces, Argo CD "
            "applications, infrastructure requests), never by a template's step"
        )


def _check_repository(
    write: Write, who: Authority, run: Run, step_key: str, internal: bool
) -> None:
    full_name = write.name.strip("/").lower()
    if is_gitops_repository(full_name):
        _refuse(
            f"{full_name} is the GitOps repository; only Paved's own steps write it (a change "
            "to the cluster goes through a namespace, an application or an infrastructure request)"
        )
    owner = full_name.split("/", 1)[0]
    key = repository_key(write.host, full_name)
    record = record_for(REPOSITORY, key)
    if record is not None:
        if not _may_use_record(record, who, run):
            _refuse(
                f"repository {full_name} belongs to {record.owner_ref or 'another team'}; "
                f"{who.name} may not write to it"
            )
        return
    shared = {o.lower() for o in getattr(settings, "PAVED_SHARED_REPOSITORY_OWNERS", [])}
    if not who.unrestricted and owner not in who.team_repository_owners | shared:
        allowed = ", ".join(sorted(who.team_repository_owners | shared)) or "none"
        _refuse(
            f"{who.name} may create repositories only under an owner of their team "
            f"({allowed}); {owner} is not one of them"
        )
    # Recorded only when this run is the one creating it: undo never removes what was there.
    if _repository_missing(full_name, write.host):
        reserve(kind=REPOSITORY, key=key, owner_ref=_owner_for_record(who, run), run=run,
                step_key=step_key)  # fmt: skip


def _repository_missing(full_name: str, host: str = "") -> bool:
    from portal.providers import git_host_named

    owner, _, name = full_name.rpartition("/")
    return git_host_named(host).get_repository(owner, name) is None


def team_owns_repository(who: Authority, full_name: str, host: str = "") -> bool:
    """The repository is the team's: created by one of its runs, under one of its own owners,
    or named by a catalog component the team owns (`<host>/project-slug`)."""
    full_name = full_name.strip("/").lower()
    record = record_for(REPOSITORY, repository_key(host, full_name))
    if record is not None:
        return record.owner_ref in who.groups
    if full_name.split("/", 1)[0] in who.team_repository_owners:
        return True
    return repository_named_by_team(who.groups, full_name)


def _check_pull_request(
    write: Write, who: Authority, run: Run, step_key: str, internal: bool
) -> None:
    full_name = write.name.strip("/").lower()
    if is_gitops_repository(full_name):
        _refuse(
            f"{full_name} is the GitOps repository; pull requests to it are not opened by "
            "templates (ask the platform team)"
        )
    if not who.unrestricted and not team_owns_repository(who, full_name, write.host):
        _refuse(
            f"{who.name} may open pull requests only on repositories their team owns; "
            f"{full_name} is not one of them"
        )


def _check_namespace(write: Write, who: Authority, run: Run, step_key: str, internal: bool) -> None:
    group = normalise_group(write.owner) if write.owner else ""
    if group and not who.owns_group(group):
        _refuse(
            f"{who.name} may create namespaces only for their own team; they are not a "
            f"member of {group}"
        )
    key = f"{write.environment}/{write.name}"
    record = record_for(NAMESPACE, key)
    if record is not None:
        if not (who.unrestricted or record.run_id == run.pk or record.owner_ref == group):
            _refuse(
                f"namespace {write.name} ({write.environment}) belongs to "
                f"{record.owner_ref or 'another team'}; choose another name"
            )
        return
    exists = _namespace_exists(write.name, write.environment)
    if exists and not who.unrestricted:
        _refuse(
            f"namespace {write.name} ({write.environment}) already exists and is not your "
            "team's; choose another name"
        )
    if not exists:
        reserve(kind=NAMESPACE, key=key, owner_ref=group or _owner_for_record(who, run), run=run,
                step_key=step_key)  # fmt: skip


def _namespace_exists(name: str, environment: str) -> bool:
    from portal.providers import cluster

    return cluster().read_status("v1", "Namespace", "", name, environment=environment).exists


def _check_application(
    write: Write, who: Authority, run: Run, step_key: str, internal: bool
) -> None:
    key = f"{write.environment}/{write.name}"
    record = record_for(APPLICATION, key)
    if record is not None and not _may_use_record(record, who, run):
        _refuse(
            f"Argo CD application {write.name} belongs to {record.owner_ref or 'another team'}; "
            "choose another name"
        )
    if write.namespace and not who.unrestricted:
        namespace = record_for(NAMESPACE, f"{write.environment}/{write.namespace}")
        if namespace is None or not _may_use_record(namespace, who, run):
            _refuse(
                f"{who.name} may deploy only into their team's namespaces; namespace "
                f"{write.namespace} ({write.environment}) is not one of them"
            )
    if record is None:
        if _application_missing(write.name, write.environment):
            reserve(kind=APPLICATION, key=key, owner_ref=_owner_for_record(who, run), run=run,
                    step_key=step_key)  # fmt: skip
        elif not who.unrestricted:
            _refuse(
                f"Argo CD application {write.name} ({write.environment}) already exists and is "
                "not your team's; choose another name"
            )


def _application_missing(name: str, environment: str) -> bool:
    from portal.providers import deployer

    return deployer().application_status(name, environment=environment).health == "Missing"


def _check_group_owned(
    write: Write, who: Authority, run: Run, step_key: str, internal: bool
) -> None:
    group = normalise_group(write.owner) if write.owner else ""
    if not group:
        return
    if not who.owns_group(group):
        what = "on-call services" if write.what == ONCALL else "catalog entities"
        _refuse(
            f"{who.name} may create {what} only for their own team; they are not a member "
            f"of {group}"
        )


def _check_component(write: Write, who: Authority, run: Run, step_key: str, internal: bool) -> None:
    ref = write.name.strip().lower()
    if ":" not in ref:
        ref = f"component:{ref if '/' in ref else 'default/' + ref}"
    owner = Entity.objects.filter(ref=ref).values_list("owner_ref", flat=True).first()
    if not who.unrestricted and (owner is None or owner not in who.groups):
        _refuse(f"you do not own {write.name}: only {owner or 'its owning team'} may request "
                "infrastructure for it")  # fmt: skip


_CHECKS = {
    GITOPS: _check_gitops,
    REPOSITORY: _check_repository,
    PULL_REQUEST: _check_pull_request,
    NAMESPACE: _check_namespace,
    APPLICATION: _check_application,
    ONCALL: _check_group_owned,
    CATALOG: _check_group_owned,
    COMPONENT: _check_component,
}
