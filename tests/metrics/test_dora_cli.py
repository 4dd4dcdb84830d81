"""`metrics dora` bad input: unknown names are refused, environment spellings match ingestion."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from catalog.models import Entity
from tests.metrics.test_import_and_dora import EXAMPLE, dora_json, run

pytestmark = pytest.mark.django_db


def test_unknown_component_or_team_is_refused_not_zero() -> None:
    run("import-events", str(EXAMPLE))
    with pytest.raises(CommandError, match="no component 'chekout'"):
        dora_json("--component", "chekout")
    with pytest.raises(CommandError, match="no team 'team-nobody'"):
        dora_json("--team", "team-nobody")
    # Known from events alone (not yet in the catalog): fine.
    assert dora_json("--component", "checkout")["deployments"] == 4
    # A team known from the catalog with no deployments answers zeros, as it should.
    Entity.objects.create(kind="Group", name="team-quiet", namespace="default")
    assert dora_json("--team", "team-quiet")["deployments"] == 0


def test_environment_aliases_match_ingestion() -> None:
    run("import-events", str(EXAMPLE))
    production = dora_json("--component", "checkout")
    assert dora_json("--component", "checkout", "--environment", "prod") == production
    assert dora_json("--component", "checkout", "--environment", " PRD ") == production
