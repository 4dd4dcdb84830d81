"""On-call step kinds: `pagerduty:service` and `opsgenie:team`.

With PAVED_ONCALL_PROVIDER set, the step creates (or reuses) the PagerDuty service / Opsgenie team
through `portal.providers.on_call()` and writes its annotation into the new repository's
catalog-info.yaml through `portal.providers.git_host()`. With no provider it records the owning
team as on-call (the `paved.dev/on-call` annotation and the step outputs, which the runbook reads)
and says plainly that no rotation was created.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar
from urllib.parse import parse_qs

import yaml
from django.conf import settings

from catalog.models import Entity
from portal.annotations import ON_CALL, OPSGENIE_TEAM, PAGERDUTY_SERVICE_ID
from portal.providers import git_host, on_call
from portal.providers.base import OnCallRef, PermanentProviderError
from runs.authority import ONCALL, REPOSITORY, Write
from runs.context import StepContext
from runs.models import Run
from runs.registry import OUTSIDE, StepInputError, StepKind, register_step

ON_CALL_ANNOTATION = ON_CALL
DEFAULT_CATALOG_INFO = "catalog-info.yaml"

_NAME = re.compile(r"^[a-z0-9A-Z][a-z0-9A-Z_.-]{0,62}$")
_OWNER_REF = re.compile(r"^(?:(?P<kind>[a-zA-Z]+):)?(?:(?P<ns>[a-z0-9A-Z_.-]+)/)?(?P<name>[^:/]+)$")


def owner_group(owner: str) -> tuple[str, str]:
    """("group:default/team-orders", "team-orders") from a catalog group ref or a bare name."""
    match = _OWNER_REF.match(owner.strip())
    if match is None or not _NAME.match(match["name"]):
        raise StepInputError([f"owner: {owner!r} is not a catalog group (group:default/team-x)"])
    kind = (match["kind"] or "group").lower()
    if kind != "group":
        raise StepInputError(
            [f"owner: {owner!r} is a {kind}; on-call belongs to a group (group:default/team-x)"]
        )
    name = match["name"].lower()
    return f"group:{(match['ns'] or 'default').lower()}/{name}", name


def repo_target(repo_url: str) -> tuple[str, str]:
    """(owner, name) from Backstage's `host?owner=o&repo=r` or a plain `owner/name`."""
    value = repo_url.strip()
    if "?" in value:
        query = parse_qs(value.split("?", 1)[1])
        owner = (query.get("owner") or query.get("organization") or query.get("workspace") or [""])[
            0
        ]
        name = (query.get("repo") or [""])[0]
    else:
        owner, _, name = value.rpartition("/")
        owner = owner.rsplit("/", 1)[-1]
    if not (owner and name and _NAME.match(owner) and _NAME.match(name)):
        raise StepInputError(
            [f"repoUrl: {repo_url!r} does not name a repository (host?owner=o&repo=r)"]
        )
    return owner, name


# --- catalog-info.yaml editing -------------------------------------------------------------------


def _documents(text: str) -> list[list[str]]:
    """Split a YAML stream into its documents' lines (separator lines stay with the next doc)."""
    docs: list[list[str]] = [[]]
    for line in text.splitlines(keepends=True):
        if re.match(r"^---\s*(#.*)?$", line) and any(x.strip() for x in docs[-1]):
            docs.append([])
        docs[-1].append(line)
    return docs


def _target_index(parsed: list[Any], component: str) -> int:
    entities = [(i, d) for i, d in enumerate(parsed) if isinstance(d, dict)]
    if not entities:
        raise PermanentProviderError("catalog-info.yaml holds no catalog entity")
    for i, doc in entities:
        meta = doc.get("metadata") or {}
        if doc.get("kind") == "Component" and meta.get("name") == component:
            return i
    components = [i for i, doc in entities if doc.get("kind") == "Component"]
    return (components or [entities[0][0]])[0]


def _insert_in_block(lines: list[str], key: str, value: str) -> list[str] | None:
    """Textual edit that keeps comments and layout: set metadata.annotations[key] = value.
    None when the layout is unusual (flow style and the like)."""
    scalar = json.dumps(value)  # a JSON string is a valid double-quoted YAML scalar
    meta = next(
        (i for i, line in enumerate(lines) if re.match(r"^metadata:\s*(#.*)?$", line)), None
    )
    if meta is None:
        return None
    end = meta + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][:1] in " \t#"):
        end += 1
    children = [i for i in range(meta + 1, end) if lines[i].strip() and lines[i][:1] == " "]
    indent = len(lines[children[0]]) - len(lines[children[0]].lstrip(" ")) if children else 2
    pad = " " * indent
    ann = next((i for i in children if re.match(rf"^{pad}annotations:\s*(#.*)?$", lines[i])), None)
    if ann is None:
        if any(re.match(rf"^{pad}annotations:", lines[i]) for i in children):
            return None  # `annotations: {...}` in flow style
        new = [f"{pad}annotations:\n", f"{pad}  {key}: {scalar}\n"]
        return lines[: meta + 1] + new + lines[meta + 1 :]
    inner = [
        i
        for i in range(ann + 1, end)
        if lines[i].strip() and len(lines[i]) - len(lines[i].lstrip(" ")) > indent
    ]
    block_end = ann + 1
    while block_end < end and (
        not lines[block_end].strip()
        or len(lines[block_end]) - len(lines[block_end].lstrip(" ")) > indent
    ):
        block_end += 1
    inner = [i for i in inner if i < block_end]
    ann_pad = " " * (
        len(lines[inner[0]]) - len(lines[inner[0]].lstrip(" ")) if inner else indent + 2
    )
    key_re = re.compile(rf"^{ann_pad}(['\"]?){re.escape(key)}\1\s*:")
    for i in inner:
        if key_re.match(lines[i]):
            return [*lines[:i], f"{ann_pad}{key}: {scalar}\n", *lines[i + 1 :]]
    last = inner[-1] + 1 if inner else ann + 1
    return [*lines[:last], f"{ann_pad}{key}: {scalar}\n", *lines[last:]]


def set_annotation(text: str, key: str, value: str, *, component: str) -> str:
    """catalog-info.yaml with metadata.annotations[key] = value on the service's Component
    (or the first entity); comments and layout are kept where the file is in block style."""
    try:
        parsed = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise PermanentProviderError(f"catalog-info.yaml is not valid YAML: {exc}") from None
    index = _target_index(parsed, component)
    current = ((parsed[index].get("metadata") or {}).get("annotations")) or {}
    if isinstance(current, dict) and current.get(key) == value:
        return text  # already there, however it is quoted: no commit on a rerun
    docs = _documents(text)
    # Documents that hold only a separator/comments parse to None and stay aligned with `parsed`
    # because _documents splits on the same `---` lines.
    if len(docs) == len(parsed):
        if not text.endswith("\n"):
            docs[-1][-1] += "\n"
        edited = _insert_in_block(docs[index], key, value)
        if edited is not None:
            result = "".join(
                line for i, doc in enumerate(docs) for line in (edited if i == index else doc)
            )
            check = list(yaml.safe_load_all(result))
            annotations = ((check[index] or {}).get("metadata") or {}).get("annotations") or {}
            if annotations.get(key) == value:
                return result
    # Fallback: re-emit the YAML (comments are lost, content is exact).
    target = parsed[index]
    target.setdefault("metadata", {}).setdefault("annotations", {})[key] = value
    return yaml.safe_dump_all(parsed, sort_keys=False, explicit_start=len(parsed) > 1)


def annotate_catalog_info(
    ctx: StepContext, *, repo_url: str, path: str, component: str, key: str, value: str
) -> bool:
    """Commit the annotation into the repository's catalog-info.yaml; False when already there."""
    owner, name = repo_target(repo_url)
    host = git_host()
    repo = host.get_repository(owner, name)
    if repo is None:
        raise PermanentProviderError(
            f"repository {owner}/{name} does not exist on the git host; publish it before "
            "the on-call step",
            provider=host.name,
        )
    current = host.read_file(repo, path)
    if current is None:
        raise PermanentProviderError(
            f"{path} was not found in {owner}/{name}; set catalogInfoPath to the file that "
            "describes the component",
            provider=host.name,
        )
    text = current.decode()
    updated = set_annotation(text, key, value, component=component)
    if updated == text:
        ctx.log.info("%s in %s/%s already carries %s: %s.", path, owner, name, key, value)
        return False
    commit = host.commit_files(
        repo, {path: updated.encode()}, message=f"Add {key} annotation (on-call, by Paved)"
    )
    ctx.log.info("Wrote %s: %s into %s/%s:%s (%s).", key, value, owner, name, path, commit.sha[:10])
    return commit.changed


# --- step kinds ----------------------------------------------------------------------------------


class OnCallStep(StepKind):
    """Shared behaviour of the on-call step kinds; subclasses name their provider."""

    provider: ClassVar[str] = ""
    what: ClassVar[str] = ""
    writes = OUTSIDE
    annotation_key: ClassVar[str] = ""  # what the provider writes (for dry-run outputs)
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "owner": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": {"type": "string", "maxLength": 1024},
            "escalationPolicy": {"type": ["string", "null"], "maxLength": 255},
            "repoUrl": {"type": ["string", "null"], "maxLength": 1024},
            "catalogInfoPath": {"type": "string", "minLength": 1, "maxLength": 1024},
            # The template's "owning team only" choice: record the team, create no rotation,
            # even when a provider is configured.
            "teamOnly": {"type": "boolean"},
        },
        "required": ["name", "owner"],
        "additionalProperties": False,
    }

    @classmethod
    def write_targets(cls, inputs: dict[str, Any], run: Run) -> list[Write]:
        writes = [Write(ONCALL, name=str(inputs.get("name") or ""), owner=str(inputs["owner"]))]
        if inputs.get("repoUrl"):  # the step commits the on-call annotation there
            owner, name = repo_target(str(inputs["repoUrl"]))
            writes.append(Write(REPOSITORY, name=f"{owner}/{name}"))
        return writes

    @classmethod
    def wrong_tool(cls, configured: str) -> str:
        """Said to the developer (the run page) and to the template's author (dry runs): which
        tool was asked for, which one this Paved uses, and what to choose instead."""
        tools = {"pagerduty": "PagerDuty", "opsgenie": "Opsgenie"}
        return (
            f"On-call through {tools.get(cls.provider, cls.provider)} was asked for, but this "
            f"Paved pages through {tools.get(configured, configured)}: choose the platform's "
            f"on-call tool instead (template authors: use the {configured} step, "
            f"not {cls.name})"
        )

    @classmethod
    def dry_run_outputs(cls, inputs: dict[str, Any]) -> dict[str, Any]:
        """What the step would return, without calling anyone; a step the configured provider
        cannot serve fails the dry run with the message the real run would give."""
        group_ref, team = owner_group(str(inputs.get("owner") or ""))
        configured = (getattr(settings, "PAVED_ONCALL_PROVIDER", "") or "none").strip().lower()
        if configured == "none" or inputs.get("teamOnly"):
            return {"onCall": group_ref, "rotation": None}
        if configured != cls.provider:
            raise PermanentProviderError(cls.wrong_tool(configured), provider=cls.provider)
        value = team if cls.provider == "opsgenie" else "(the service id, known when it runs)"
        return {
            "provider": cls.provider,
            "id": value,
            "url": "",
            "annotation": {cls.annotation_key: value},
            "onCall": group_ref,
        }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        inputs = ctx.inputs
        name = str(inputs["name"]).strip()
        group_ref, team = owner_group(str(inputs["owner"]))
        repo_url = inputs.get("repoUrl") or ""
        path = inputs.get("catalogInfoPath") or DEFAULT_CATALOG_INFO
        if repo_url:
            repo_target(repo_url)  # bad input fails before anything is created
        if not Entity.objects.filter(ref=group_ref).exists():
            # Not fatal: the org may be synced into the catalog later. But a typo shows here.
            ctx.log.warning(
                "%s is not in the catalog (yet); on-call goes to the team named %r.",
                group_ref,
                team,
            )

        provider = on_call()
        if provider is None or inputs.get("teamOnly"):
            why = (
                "This Paved has no on-call tool (PagerDuty or Opsgenie) connected"
                if provider is None
                else f"The template asked for the owning team only (not {provider.name})"
            )
            return self._record_team(ctx, name=name, group_ref=group_ref, team=team,
                                     repo_url=repo_url, path=path, why=why)  # fmt: skip
        if provider.name != self.provider:
            raise PermanentProviderError(self.wrong_tool(provider.name), provider=self.provider)
        ref, created = provider.ensure_service(
            name,
            team=team,
            description=str(inputs.get("description") or ""),
            escalation_policy=inputs.get("escalationPolicy") or None,
        )
        ctx.log.info(
            "%s %s %s for %s (owned by %s): %s",
            "Created" if created else "Reusing existing",
            self.what,
            ref.id,
            name,
            team,
            ref.url or "(no web link)",
        )
        ctx.heartbeat()
        if repo_url:
            annotate_catalog_info(ctx, repo_url=repo_url, path=path, component=name,
                                  key=ref.annotation_key, value=ref.annotation_value)  # fmt: skip
        return self._outputs(ref, group_ref)

    def _outputs(self, ref: OnCallRef, group_ref: str) -> dict[str, Any]:
        return {
            "provider": ref.provider,
            "id": ref.id,
            "url": ref.url,
            "annotation": {ref.annotation_key: ref.annotation_value},
            "onCall": group_ref,
        }

    def _record_team(
        self,
        ctx: StepContext,
        *,
        name: str,
        group_ref: str,
        team: str,
        repo_url: str,
        path: str,
        why: str,
    ) -> dict[str, Any]:
        if repo_url:
            annotate_catalog_info(ctx, repo_url=repo_url, path=path, component=name,
                                  key=ON_CALL_ANNOTATION, value=group_ref)  # fmt: skip
        ctx.log.warning(
            "%s; recorded %s as on-call in the catalog and the runbook — no rotation was created",
            why,
            team,
        )
        if not repo_url:
            ctx.log.info(
                "No repoUrl was given, so no catalog-info.yaml was annotated; the team is in "
                "this step's outputs (onCall) for the template's catalog file and runbook."
            )
        return {"onCall": group_ref, "rotation": None}


@register_step
class PagerDutyService(OnCallStep):
    name = "pagerduty:service"
    title = "Create or reuse the PagerDuty service"
    description = (
        "Creates (or reuses) a PagerDuty service on the owning team's escalation policy and "
        "writes pagerduty.com/service-id into catalog-info.yaml."
    )
    provider = "pagerduty"
    what = "PagerDuty service"
    annotation_key = PAGERDUTY_SERVICE_ID


@register_step
class OpsgenieTeam(OnCallStep):
    name = "opsgenie:team"
    title = "Create or reuse the Opsgenie team"
    description = (
        "Creates (or reuses) the owning team in Opsgenie with its schedule and writes "
        "opsgenie.com/team into catalog-info.yaml."
    )
    provider = "opsgenie"
    what = "Opsgenie team"
    annotation_key = OPSGENIE_TEAM
