"""Observability links: URL patterns the platform team keeps in admin (Grafana, Loki, Tempo,
Argo CD, PagerDuty, ...), resolved for each component from its catalog data.

Placeholders and where their values come from (first one present wins):

- `{name}`: the entity's name;
- `{namespace}`: annotation `paved.dev/namespace`, `backstage.io/kubernetes-namespace`,
  `argocd/app-namespace`, else the entity's name (the golden path's namespace is the name);
- `{environment}`: annotation `paved.dev/environment` (no fallback);
- `{system}`: `spec.system` (its name);
- `{argocd_app}`: annotation `argocd/app-name`;
- `{pagerduty_service_id}`: annotation `pagerduty.com/service-id`.

A link one of whose placeholders has no value is not shown as a link; the page lists it as
"not available" with the annotation that would fill it. Values are URL-encoded.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from catalog.models import Entity
from portal.annotations import ARGOCD_APP_NAME, ENVIRONMENT, NAMESPACE_KEYS, PAGERDUTY_SERVICE_ID


def _annotation(*keys: str) -> Callable[[Entity], str]:
    def read(entity: Entity) -> str:
        values = entity.annotations
        for key in keys:
            value = values.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return ""

    return read


def _namespace(entity: Entity) -> str:
    read = _annotation(*NAMESPACE_KEYS)
    return read(entity) or entity.name


def _system(entity: Entity) -> str:
    system = (entity.spec or {}).get("system")
    if not isinstance(system, str):
        return ""
    return system.rsplit("/", 1)[-1].split(":", 1)[-1].strip()


@dataclass(frozen=True)
class Placeholder:
    name: str
    source: str  # what fills it, shown in admin help and when a value is missing
    value: Callable[[Entity], str]


PLACEHOLDERS: dict[str, Placeholder] = {
    p.name: p
    for p in (
        Placeholder("name", "the component's name", lambda e: e.name),
        Placeholder(
            "namespace",
            "annotation paved.dev/namespace (or backstage.io/kubernetes-namespace, "
            "argocd/app-namespace; default: the component's name)",
            _namespace,
        ),
        Placeholder("environment", "annotation paved.dev/environment", _annotation(ENVIRONMENT)),
        Placeholder("system", "spec.system", _system),
        Placeholder("argocd_app", "annotation argocd/app-name", _annotation(ARGOCD_APP_NAME)),
        Placeholder(
            "pagerduty_service_id",
            "annotation pagerduty.com/service-id",
            _annotation(PAGERDUTY_SERVICE_ID),
        ),
    )
}


def pattern_fields(pattern: str) -> list[str]:
    """The placeholders of a pattern, in order; ValidationError when it is not one we fill."""
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise ValidationError(
            f"The pattern is malformed ({exc}); write a literal brace as {{{{ or }}}}.",
            code="malformed",
        ) from None
    fields: list[str] = []
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if spec or conversion:
            raise ValidationError(
                f"{{{field}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}"
                f": placeholders take no format or conversion; write {{{field}}}.",
                code="format",
            )
        if field not in PLACEHOLDERS:
            known = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            shown = f"{{{field}}}" if field else "{}"
            raise ValidationError(
                f"Unknown placeholder {shown}; use one of {known}.", code="unknown_placeholder"
            )
        fields.append(field)
    return fields


_URL = URLValidator(schemes=["http", "https"])


def validate_pattern(pattern: str) -> None:
    """Admin's check: known placeholders only, and an http(s) URL once they are filled."""
    fields = pattern_fields(pattern)
    sample = pattern.format(**dict.fromkeys(fields, "x"))
    try:
        _URL(sample)
    except ValidationError:
        raise ValidationError(
            "The pattern must be an http:// or https:// URL once its placeholders are filled.",
            code="url",
        ) from None


@dataclass(frozen=True)
class ResolvedLink:
    title: str
    url: str = ""
    missing: tuple[str, ...] = ()  # sources of the placeholders that had no value

    @property
    def available(self) -> bool:
        return bool(self.url)


class LinkPattern(Protocol):
    """What resolve_links needs of a pattern row (the model satisfies it)."""

    @property
    def title(self) -> str: ...

    @property
    def url_pattern(self) -> str: ...


def resolve_links(entity: Entity, patterns: Iterable[LinkPattern]) -> list[ResolvedLink]:
    """The component's links, in the patterns' order. Pure: no queries."""
    cache: dict[str, str] = {}
    links = []
    for row in patterns:
        try:
            fields = pattern_fields(row.url_pattern)
        except ValidationError:
            continue  # saved before a placeholder was retired; admin shows the error on edit
        for field in fields:
            if field not in cache:
                cache[field] = PLACEHOLDERS[field].value(entity)
        missing = tuple(dict.fromkeys(PLACEHOLDERS[f].source for f in fields if not cache[f]))
        if missing:
            links.append(ResolvedLink(title=row.title, missing=missing))
            continue
        url = row.url_pattern.format(**{f: quote(cache[f], safe="") for f in fields})
        links.append(ResolvedLink(title=row.title, url=url))
    return links


# Grafana Explore's `panes` parameter is URL-encoded JSON; its braces are encoded (%7B, %7D) so
# they are not read as placeholders.
_LOKI = (
    "https://grafana.example.com/explore?schemaVersion=1&panes=%7B%22logs%22:%7B%22datasource%22:"
    "%22loki%22,%22queries%22:%5B%7B%22refId%22:%22A%22,%22expr%22:%22%7Bnamespace%3D%5C%22"
    "{namespace}%5C%22%7D%22%7D%5D,%22range%22:%7B%22from%22:%22now-1h%22,%22to%22:%22now%22%7D"
    "%7D%7D"
)
_TEMPO = (
    "https://grafana.example.com/explore?schemaVersion=1&panes=%7B%22traces%22:%7B%22datasource"
    "%22:%22tempo%22,%22queries%22:%5B%7B%22refId%22:%22A%22,%22queryType%22:%22traceql%22,"
    "%22query%22:%22%7Bresource.service.name%3D%5C%22{name}%5C%22%7D%22%7D%5D,%22range%22:%7B"
    "%22from%22:%22now-1h%22,%22to%22:%22now%22%7D%7D%7D"
)
# (title, kind, position, pattern): seeded by migration 0006 and by load_demo_data.
DEFAULT_LINKS: tuple[tuple[str, str, int, str], ...] = (
    ("Grafana dashboard", "dashboard", 10,
     "https://grafana.example.com/d/paved-service/service?var-namespace={namespace}&var-service={name}"),
    ("Logs (Loki)", "logs", 20, _LOKI),
    ("Traces (Tempo)", "traces", 30, _TEMPO),
    ("Argo CD application", "deployment", 40,
     "https://argocd.example.com/applications/argocd/{argocd_app}"),
    ("PagerDuty service", "on-call", 50,
     "https://example.pagerduty.com/service-directory/{pagerduty_service_id}"),
)  # fmt: skip


def install_default_links(model: Any) -> int:
    """Create the default links that do not exist (by title); edited ones are left alone.
    `model` is ObservabilityLink, or the migration's historical model."""
    created = 0
    for title, kind, position, pattern in DEFAULT_LINKS:
        _, new = model.objects.get_or_create(
            title=title, defaults={"kind": kind, "position": position, "url_pattern": pattern}
        )
        created += int(new)
    return created


def component_links(entity: Entity) -> list[ResolvedLink]:
    """The enabled patterns resolved for `entity`: one query, however many links there are."""
    from catalog.models import ObservabilityLink

    return resolve_links(entity, ObservabilityLink.objects.filter(enabled=True))
