"""The connection ExternalSecret carries a Go template (ESO's `dataFrom.rewrite`) built from the
request's name. Whatever the name, the template holds exactly one action, `.value | upper`: a
name cannot smuggle template functions into the External Secrets controller, and two requests
of one service never share a variable prefix."""

from __future__ import annotations

import pytest

from infra.crossplane import env_prefix, render_connection_external_secret

HOSTILE = ['x{{ env "AWS_SECRET_ACCESS_KEY" }}', "a}}{{ .value", "db-{{/*", "orders-db\n{{"]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_request_name_cannot_add_template_actions(name: str) -> None:
    external = render_connection_external_secret(
        name=name, namespace="orders-api", environment="dev", store="platform-secrets"
    )
    template = external["spec"]["dataFrom"][0]["rewrite"][0]["transform"]["template"]
    assert template.count("{{") == template.count("}}") == 1
    assert template.endswith("{{ .value | upper }}")
    assert set(env_prefix(name)) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def test_different_request_names_get_different_prefixes() -> None:
    names = ["orders-db", "orders-cache", "orders", "orders-db-2"]
    assert len({env_prefix(n) for n in names}) == len(names)
