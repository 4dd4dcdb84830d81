"""Secret run inputs: typed into the wizard, needed by steps, never stored or shown in clear.

A run that has secret fields stores them sealed in one RunSecret row and lists their names in
Run.context["secret_fields"] (so runs without secrets never pay for the lookup); Run.inputs
holds MASK in their place. Steps see the real values; everything the engine writes while a
run's step is working (log lines, errors, resolved inputs, outputs, audit records) is passed
through `redact`, which masks these values for the duration (`redacting`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from portal.lib.redaction import MASK, redacting
from portal.lib.sealing import SealBroken, seal, unseal
from runs.models import Run, RunSecret, RunStatus

SECRET_FIELDS_KEY = "secret_fields"  # noqa: S105 (a context key, not a secret)
_CACHE_ATTR = "_paved_secret_values"


class RunSecretsGone(Exception):
    """The run had secret values but they were discarded (or cannot be opened any more)."""


def split_secrets(
    values: Mapping[str, Any], secret_names: set[str] | frozenset[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(inputs to store with MASK in place of secrets, the secret values themselves)."""
    secrets = {name: values[name] for name in secret_names if values.get(name) not in (None, "")}
    stored = {name: (MASK if name in secrets else value) for name, value in values.items()}
    return stored, secrets


def store_run_secrets(run: Run, secrets: Mapping[str, Any]) -> None:
    if not secrets:
        return
    RunSecret.objects.create(run=run, sealed=seal(dict(secrets)))
    setattr(run, _CACHE_ATTR, dict(secrets))


def has_secrets(run: Run) -> bool:
    return bool((run.context or {}).get(SECRET_FIELDS_KEY))


def run_secrets(run: Run) -> dict[str, Any]:
    """The run's secret values ({} for a run without secret fields). Cached on the instance."""
    if not has_secrets(run):
        return {}
    cached = getattr(run, _CACHE_ATTR, None)
    if cached is not None:
        return dict(cached)
    sealed = RunSecret.objects.filter(run_id=run.pk).values_list("sealed", flat=True).first()
    if sealed is None:
        raise RunSecretsGone(
            "the values of this run's secret fields were discarded "
            f"({', '.join(run.context[SECRET_FIELDS_KEY])}); start a new run from the template"
        )
    try:
        values = unseal(sealed)
    except SealBroken as exc:
        raise RunSecretsGone(
            "the values of this run's secret fields cannot be opened with the current "
            "PAVED_SECRET_KEY; start a new run from the template"
        ) from exc
    setattr(run, _CACHE_ATTR, dict(values))
    return dict(values)


@contextmanager
def redacting_run(run: Run) -> Iterator[None]:
    """Mask the run's secret values in everything redacted inside the block."""
    try:
        values = run_secrets(run).values() if has_secrets(run) else ()
    except RunSecretsGone:
        values = ()
    with redacting(values):
        yield


def discard_run_secrets(run_id: int) -> None:
    RunSecret.objects.filter(run_id=run_id).delete()


def purge_expired_run_secrets() -> int:
    """Delete secrets of finished runs older than the retention; return how many."""
    cutoff = timezone.now() - timedelta(hours=settings.PAVED_RUN_SECRET_RETENTION_HOURS)
    deleted, _ = RunSecret.objects.filter(
        run__status__in=[RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.SUCCEEDED],
        run__finished_at__lt=cutoff,
    ).delete()
    return deleted
