"""The "scaffolder" run kind: step inputs and `if` conditions are evaluated when the step runs.

Expressions see what Backstage's see: `parameters`, `steps['id'].output`, `user.entity`,
`user.ref`, `context.task.id`, and `each` inside a repeated step; plus Paved's `platform.*`
(scaffolder/platform.py: secret store, gateway, host pattern, on-call provider). The run stores the raw
template (Run.context["template"]); nothing is evaluated at start except validation.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.urls import NoReverseMatch, reverse

from portal.lib.links import is_safe_link
from portal.lib.markdown import render_markdown
from runs.models import Run, RunStatus, Step, StepStatus
from runs.registry import EACH_KEY, RunKindHooks, register_run_kind
from runs.runner import StepSpec
from runs.secrets import run_secrets
from runs.workspace import remove_workspace
from scaffolder.expressions import ExpressionError, evaluate, evaluate_data, is_truthy
from scaffolder.loader import Template, step_id
from scaffolder.platform import platform_context

RUN_KIND = "scaffolder"
logger = logging.getLogger(__name__)


def expression_variables(
    *,
    parameters: Mapping[str, Any],
    step_outputs: Mapping[str, Mapping[str, Any]],
    user: Mapping[str, Any] | None = None,
    task_id: Any = None,
    secrets: Mapping[str, Any] | None = None,
    platform: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    # Secret fields are readable both as `secrets.x` (Backstage's Secret field) and as
    # `parameters.x` (templates written for SecretInput / ui:widget password).
    return {
        "parameters": {**parameters, **(secrets or {})},
        "secrets": dict(secrets or {}),
        "platform": dict(platform if platform is not None else platform_context()),
        "steps": {key: {"output": dict(out)} for key, out in step_outputs.items()},
        "user": dict(user or {}),
        "context": {"task": {"id": task_id}},
    }


def each_items(value: Any, *, where: str) -> list[dict[str, Any]]:
    """`each` over a list gives {key: index, value}; over a mapping {key, value} per entry."""
    if isinstance(value, list):
        return [{"key": index, "value": item} for index, item in enumerate(value)]
    if isinstance(value, Mapping):
        return [{"key": key, "value": item} for key, item in value.items()]
    raise ExpressionError(
        f"`each` must give a list or a mapping, got {type(value).__name__}", where=where
    )


def resolve_step(
    *,
    key: str,
    raw_inputs: Mapping[str, Any],
    condition: Any,
    each: Any,
    variables: Mapping[str, Any],
) -> tuple[dict[str, Any], bool]:
    """Evaluate one step's `if`, `each` and `input`. Returns (inputs, should_run)."""
    where = f"step '{key}'"
    if condition not in (None, "", True):
        if condition is False:
            return {}, False
        value = evaluate(str(condition), variables, where=f"{where} if")
        if not is_truthy(value):
            return {}, False
    if each not in (None, ""):
        items = evaluate(each, variables, where=f"{where} each") if isinstance(each, str) else each
        resolved = [
            evaluate_data(dict(raw_inputs), {**variables, "each": item}, where=f"{where} input")
            for item in each_items(items, where=f"{where} each")
        ]
        return {EACH_KEY: resolved}, True
    return evaluate_data(dict(raw_inputs), variables, where=f"{where} input"), True


def _run_variables(run: Run) -> dict[str, Any]:
    outputs: dict[str, dict[str, Any]] = {}
    for key, status, out in run.steps.values_list("key", "status", "outputs"):
        if status in (StepStatus.SUCCEEDED, StepStatus.SKIPPED):
            outputs[key] = out or {}
    return expression_variables(
        parameters=run.inputs,
        step_outputs=outputs,
        user=run.context.get("user"),
        task_id=run.pk,
        secrets=run_secrets(run),
        # Runs started before `platform` existed have no snapshot: use the settings.
        platform=run.context.get("platform"),
    )


def resolve_step_inputs(
    run: Run, step: Step, variables: Mapping[str, Any]
) -> tuple[dict[str, Any], bool]:
    """A step's `if`, `each` and `input` as the template wrote them, against `variables`: from
    the database for a real run, from memory for a dry run."""
    template = run.context.get("template") or {}
    each = (template.get("each") or {}).get(step.key)
    condition: Any = (template.get("conditions") or {}).get(step.key, step.condition or None)
    return resolve_step(
        key=step.key, raw_inputs=step.inputs, condition=condition, each=each, variables=variables
    )


def resolve_inputs(run: Run, step: Step) -> tuple[dict[str, Any], bool]:
    return resolve_step_inputs(run, step, _run_variables(run))


def template_step_specs(template: Template) -> list[StepSpec]:
    """The steps a run of `template` is made of, for real runs and dry runs alike."""
    return [
        StepSpec(
            key=step_id(step, index),
            kind=str(step["action"]),
            name=str(step.get("name") or step.get("id") or step["action"]),
            inputs=dict(step.get("input") or {}),
            condition=step["if"] if isinstance(step.get("if"), str) else "",
        )
        for index, step in enumerate(template.steps)
    ]


def entity_url(entity_ref: str) -> str:
    """Where the portal shows a catalog entity."""
    ref = entity_ref.lower()
    kind, _, rest = ref.partition(":")
    namespace, _, name = rest.partition("/")
    try:
        return reverse("catalog:entity-detail", args=[namespace, kind, name])
    except NoReverseMatch:
        pass
    try:
        return f"{reverse('catalog:entity-by-ref')}?ref={ref}"
    except NoReverseMatch:
        return f"/catalog/?q={name}"


def render_output(
    output_spec: Mapping[str, Any], variables: Mapping[str, Any], *, dry_run: bool = False
) -> dict[str, Any]:
    """Evaluate `spec.output`: links and text honour `if`; entityRef links point at the catalog.

    In a dry run the entity does not exist yet and its ref may not be known: a link given by
    `entityRef` is kept all the same (as Backstage keeps it), with an empty url if need be."""
    result: dict[str, Any] = {"links": [], "text": []}
    for index, link in enumerate(output_spec.get("links") or []):
        where = f"output link {index + 1}"
        if "if" in link and not is_truthy(
            evaluate_data(link["if"], variables, where=f"{where} if")
        ):
            continue
        rendered = evaluate_data(
            {k: v for k, v in link.items() if k != "if"}, variables, where=where
        )
        url = rendered.get("url") or ""
        entity_ref = str(rendered.get("entityRef") or "")
        if not url and entity_ref:
            url = entity_url(entity_ref)
        if not url and not (dry_run and "entityRef" in rendered):
            continue
        if url and not is_safe_link(str(url), allow_relative=True):
            # A template (or a value typed into it) may not put a javascript: link on the page.
            continue
        shown: dict[str, Any] = {
            "title": str(rendered.get("title") or url or entity_ref),
            "url": str(url),
            "icon": rendered.get("icon", ""),
        }
        if "entityRef" in rendered:
            shown["entityRef"] = entity_ref
        result["links"].append(shown)
    for index, text in enumerate(output_spec.get("text") or []):
        where = f"output text {index + 1}"
        if "if" in text and not is_truthy(
            evaluate_data(text["if"], variables, where=f"{where} if")
        ):
            continue
        rendered = evaluate_data(
            {k: v for k, v in text.items() if k != "if"}, variables, where=where
        )
        content = str(rendered.get("content") or "")
        result["text"].append(
            {
                "title": str(rendered.get("title") or ""),
                "content": content,
                # Backstage renders `content` as Markdown; sanitised once here for the run page.
                "html": render_markdown(content).html,
            }
        )
    for key, value in output_spec.items():
        if key not in ("links", "text"):
            result[key] = evaluate_data(value, variables, where=f"output {key}")
    return result


def resolve_outputs(run: Run) -> dict[str, Any]:
    template = run.context.get("template") or {}
    return render_output(template.get("output") or {}, _run_variables(run))


def on_finished(run: Run) -> None:
    """A succeeded run's files are in its repository now; failed runs keep the workspace so
    that "Retry from this step" finds what earlier steps wrote."""
    if run.status == RunStatus.SUCCEEDED:
        # What the new repository was made from, for template upgrades (docs/upgrades.md).
        from scaffolder.upgrades.provenance import record_from_run

        try:
            record_from_run(run)
        except Exception:  # the run did succeed; a missing link is logged, not a failure
            logger.exception("could not record the provenance of run %s", run.pk)
        # Moved aside at once, deleted by a follow-up task: finishing a run stays cheap.
        remove_workspace(run, later=True)
        transaction.on_commit(_empty_trash_later)


def _empty_trash_later() -> None:
    from portal.celery import app

    try:
        app.send_task("scaffolder.empty_workspace_trash")
    except Exception:  # no broker right now: the hourly beat job empties the trash too
        logger.warning("could not enqueue scaffolder.empty_workspace_trash", exc_info=True)


register_run_kind(
    RUN_KIND,
    RunKindHooks(
        resolve_inputs=resolve_inputs, resolve_outputs=resolve_outputs, on_finished=on_finished
    ),
)
