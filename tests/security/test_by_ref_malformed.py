"""A malformed `?ref=` on /catalog/by-ref/ must be a clear 400 page: never a 500, never a
redirect to another site."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.models import Entity

pytestmark = pytest.mark.django_db

MALFORMED = [
    "x://evil.com/",
    "//evil.com/x",
    "component://evil.com",
    "component:default/../../admin",
    "component:default/a/b",
    "component:",
    ":default/x",
    "no-kind-at-all",
    "",
    "component:default/" + "x" * 80,
    "component:de fault/x",
    "component:default/<script>",
]


@pytest.mark.parametrize("ref", MALFORMED)
def test_malformed_ref_is_a_clear_400_not_an_offsite_redirect(owner_client: Any, ref: str) -> None:
    before = Entity.objects.count()
    response = owner_client.get("/catalog/by-ref/", {"ref": ref})
    assert response.status_code == 400
    assert "Location" not in response
    page = response.content.decode()
    assert "is not a catalog reference" in page
    assert "kind:namespace/name" in page
    assert "<script>" not in page  # the bad input is shown escaped
    assert Entity.objects.count() == before


def test_wellformed_ref_redirects_to_the_entity_page_on_this_site(owner_client: Any) -> None:
    response = owner_client.get("/catalog/by-ref/", {"ref": "Component:orders-api"})
    assert response.status_code == 302
    assert response["Location"] == "/catalog/default/component/orders-api/"
