"""http:backstage:request against Paved's own API, as the person who started the run."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from catalog.models import ApiToken, Location
from catalog.tokens import hash_token
from portal.providers.base import PermanentProviderError
from runs.context import StepContext
from runs.models import Run, Step
from runs.registry import get_step_kind
from scaffolder.dry_run import DryRunLog
from tests.conftest import make_group, make_member


def _call(user: User | None, **inputs: Any) -> dict[str, Any]:
    kind = get_step_kind("http:backstage:request")
    kind.validate_inputs(inputs)
    ctx = StepContext(
        run=Run(kind="scaffolder", title="t", requested_by=user),
        step=Step(key="req", name="req", kind=kind.name),
        inputs=inputs,
        log=DryRunLog([], "req"),  # type: ignore[arg-type]
        claim_token="test",
        lease_seconds=0,
        dry_run=True,
    )
    return kind().run(ctx)


@pytest.mark.django_db
def test_reads_the_catalog_as_the_requester() -> None:
    carol = make_member("carol", make_group("team-orders"))
    out = _call(carol, method="GET", path="/catalog/entities", params={"filter": "kind=group"})
    assert out["code"] == 200
    assert [e["metadata"]["name"] for e in out["body"]] == ["team-orders"]
    same = _call(
        carol, method="GET", path="/api/catalog/entities/by-name/group/default/team-orders"
    )
    assert same["body"]["metadata"]["name"] == "team-orders"


@pytest.mark.django_db
def test_a_token_in_the_template_is_dropped_so_nothing_is_written() -> None:
    carol = make_member("carol", make_group("team-orders"))
    admin = User.objects.create_user("root-admin", is_staff=True)
    raw = "pvd_embedded-write-token"
    ApiToken.objects.create(name="x", user=admin, token_hash=hash_token(raw), prefix=raw[:12],
                            can_write=True)  # fmt: skip
    with pytest.raises(PermanentProviderError, match="answered 403"):
        _call(carol, method="POST", path="/catalog/locations",
              headers={"Authorization": f"Bearer {raw}"},
              body={"type": "url", "target": "https://example.com/catalog-info.yaml"})  # fmt: skip
    assert not Location.objects.exists()


@pytest.mark.django_db
def test_paths_paved_cannot_serve_are_refused_plainly() -> None:
    carol = make_member("carol", make_group("team-orders"))
    with pytest.raises(PermanentProviderError, match="proxy, which Paved does not have"):
        _call(carol, method="GET", path="/api/proxy/snyk/org")
    with pytest.raises(PermanentProviderError, match="must be a path on this portal"):
        _call(carol, method="GET", path="https://evil.example.com/x")
    with pytest.raises(PermanentProviderError, match="has no /api/nothing"):
        _call(carol, method="GET", path="/nothing")
    with pytest.raises(PermanentProviderError, match="has none"):
        _call(None, method="GET", path="/catalog/entities")
    assert _call(carol, method="GET", path="/catalog/entities/by-name/group/default/none",
                 continueOnBadResponse=True)["code"] == 404  # fmt: skip
