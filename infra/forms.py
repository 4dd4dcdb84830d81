"""Parsing the request form. The parameter fields come from the class's JSON Schema; the
checks themselves live in infra.validation, so the form, the CLI and the steps agree."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth.models import AnonymousUser, User

from catalog.models import Entity
from infra.models import Composition, ResourceClass
from infra.validation import RequestInvalid, RequestSpec, owned_components

PARAM_PREFIX = "param_"


def field_name_for(problem_field: str) -> str | None:
    """Where a validation problem is shown: next to its field, or above the form."""
    if problem_field.startswith("parameters."):
        return PARAM_PREFIX + problem_field.split(".", 1)[1].split(".")[0]
    if problem_field in (
        "resource_class",
        "component",
        "environment",
        "provider",
        "name",
        "namespace",
    ):
        return problem_field
    return None


def human_label(key: str) -> str:
    """`storageGB` -> "Storage (GB)", `backupEnabled` -> "Backup enabled": a parameter without
    a `title` in its schema is still labelled in words."""
    words = re.findall(r"[A-Z]{2,}(?=[A-Z][a-z]|$)|[A-Z]?[a-z]+|[A-Z]+|\d+", key)
    if not words:
        return key
    units = [w for w in words[1:] if w.isupper() and len(w) > 1]
    text = " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words if w not in units)
    text = text[:1].upper() + text[1:]
    return f"{text} ({' '.join(units)})" if units else text


def _param_field(key: str, schema: dict[str, Any], required: bool) -> forms.Field:
    label = str(schema.get("title") or human_label(key))
    help_text = str(schema.get("description", ""))
    kind = schema.get("type")
    if "enum" in schema:
        choices = [(str(c), str(c)) for c in schema["enum"]]
        if not required:
            choices = [("", "—"), *choices]
        return forms.ChoiceField(
            label=label, choices=choices, required=False, help_text=help_text,
            initial=schema.get("default"),
        )  # fmt: skip
    if kind == "boolean":
        return forms.BooleanField(
            label=label, required=False, help_text=help_text, initial=schema.get("default", False)
        )
    if kind == "integer":
        attrs = {k: schema[k] for k in ("minimum", "maximum") if k in schema}
        widget = forms.NumberInput(attrs={"min": attrs.get("minimum"), "max": attrs.get("maximum")})
        return forms.IntegerField(
            label=label, required=False, help_text=help_text, widget=widget,
            initial=schema.get("default"),
        )  # fmt: skip
    return forms.CharField(
        label=label, required=False, help_text=help_text, initial=schema.get("default")
    )


class RequestForm(forms.Form):
    # Plain fields with select widgets: unknown values reach infra.validation, whose messages
    # say what is wrong ("you do not own ...") instead of "Select a valid choice".
    resource_class = forms.CharField(label="Resource class", widget=forms.Select, required=False)
    component = forms.CharField(
        label="Owning component",
        help_text="Only components you own.",
        widget=forms.Select,
        required=False,
    )
    environment = forms.CharField(widget=forms.Select, required=False)
    provider = forms.CharField(initial="aws", widget=forms.Select, required=False)
    name = forms.CharField(required=False, help_text="Kubernetes name, e.g. orders-db")
    # Not a choice: the request goes in the component's namespace. Kept as a field so that a
    # value naming another namespace is refused with a message instead of silently dropped.
    namespace = forms.CharField(
        required=False,
        help_text="The component's namespace (from its catalog entry); leave it empty.",
    )

    def __init__(
        self,
        data: Any = None,
        *,
        user: User | AnonymousUser,
        class_name: str = "",
        initial: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(data, initial=initial)
        classes = list(ResourceClass.objects.filter(enabled=True).order_by("name"))
        self.fields["resource_class"].widget.choices = [(c.name, c.title) for c in classes]
        chosen = (
            class_name
            or (data or {}).get("resource_class")
            or (initial or {}).get("resource_class")
        )
        self.chosen_class = next(
            (c for c in classes if c.name == chosen), classes[0] if classes else None
        )
        if self.chosen_class is not None and not self.is_bound:
            self.initial["resource_class"] = self.chosen_class.name
        components = owned_components(user)
        self.fields["component"].widget.choices = [("", "—"), *_component_choices(components)]
        self.has_components = bool(components)
        offered = (
            list(Composition.objects.filter(resource_class=self.chosen_class)
                 .values_list("provider", "environment"))
            if self.chosen_class else []
        )  # fmt: skip
        envs = sorted({e for _, e in offered}, key=_env_order)
        self.fields["environment"].widget.choices = [(e, e) for e in envs]
        self.fields["provider"].widget.choices = [(p, p) for p in sorted({p for p, _ in offered})]
        self.param_names: list[str] = []
        if self.chosen_class is not None:
            schema = self.chosen_class.parameter_schema or {}
            required = set(schema.get("required") or [])
            for key, sub in self.chosen_class.parameter_properties().items():
                self.fields[PARAM_PREFIX + key] = _param_field(key, sub, key in required)
                self.param_names.append(key)
        # What each size means where it would run, next to the tier field (no "see the tiers"
        # pointing nowhere). Environment: the chosen one, else the first offered.
        env = str((data or {}).get("environment") or (initial or {}).get("environment") or "")
        self.tier_environment = env if env in envs else (envs[0] if envs else "")
        self.tiers = (
            list(
                self.chosen_class.tiers.filter(environment=self.tier_environment).order_by(
                    "monthly_cost", "name"
                )
            )
            if self.chosen_class is not None and self.tier_environment
            else []
        )

    @classmethod
    def with_class_defaults(cls, data: Any, *, user: User | AnonymousUser) -> RequestForm:
        """The form after the person switched the resource class: the new class's parameters
        start at their schema defaults (a checkbox that was not on the page is not "off")."""
        probe = cls(data, user=user)
        if probe.chosen_class is None:
            return probe
        filled = data.copy()
        for key, schema in probe.chosen_class.parameter_properties().items():
            name = PARAM_PREFIX + key
            if name not in filled and schema.get("default") is not None:
                default = schema["default"]
                if isinstance(default, bool):
                    if default:
                        filled[name] = "on"
                else:
                    filled[name] = str(default)
        return cls(filled, user=user)

    def param_fields(self) -> list[forms.BoundField]:
        return [self[PARAM_PREFIX + key] for key in self.param_names]

    def to_spec(self) -> RequestSpec:
        data = self.cleaned_data
        params: dict[str, Any] = {}
        for key in self.param_names:
            value = data.get(PARAM_PREFIX + key)
            if value is None or value == "":
                continue
            params[key] = value
        return RequestSpec(
            resource_class=data.get("resource_class", ""),
            name=data.get("name", ""),
            namespace=data.get("namespace", ""),
            environment=data.get("environment", ""),
            provider=data.get("provider", "aws") or "aws",
            parameters=params,
            component=data.get("component", ""),
        )

    def add_problems(self, exc: RequestInvalid, *, skip_required: bool = False) -> None:
        for problem in exc.problems:
            if skip_required and problem.message in (
                "is required",
                "choose the component that will own it",
            ):
                continue
            where = field_name_for(problem.field)
            if where is not None and where not in self.fields:
                where = None
            message = problem.message if where else str(problem)
            self.add_error(where, message)


def _env_order(env: str) -> tuple[int, str]:
    order = {"dev": 0, "development": 0, "staging": 1, "production": 2, "prod": 2}
    return (order.get(env, 1), env)


class ResizeForm(forms.Form):
    size = forms.IntegerField(min_value=0)


class TierForm(forms.Form):
    tier = forms.CharField(max_length=32)


class DeleteForm(forms.Form):
    confirm = forms.CharField(max_length=63, required=False)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


def _component_choices(components: list[Entity]) -> list[tuple[str, str]]:
    """Components by the names people use; the owning team's name only when several teams'
    components are offered (a platform admin's list), never a ref."""
    owners = {c.owner_ref for c in components}
    if len(owners) <= 1:
        return [(c.ref, c.display_name) for c in components]
    teams = {g.ref: g.display_name for g in Entity.objects.filter(ref__in=owners)}
    return [
        (c.ref, f"{c.display_name} · {teams.get(c.owner_ref, c.owner_ref.rsplit('/', 1)[-1])}")
        for c in components
    ]
