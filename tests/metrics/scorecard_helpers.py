"""Shared by the scorecard tests: the default scorecard exists even after a transactional test
flushed the data the migration created."""

from __future__ import annotations

import importlib

from django.apps import apps


def ensure_default_scorecard() -> None:
    migration = importlib.import_module("metrics.migrations.0003_default_scorecard")
    migration.create(apps, None)
