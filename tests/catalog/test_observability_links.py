"""Observability links: patterns kept in admin, validated, resolved on every component page from
the component's annotations, with a query count that does not grow with the number of links."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from catalog.models import ObservabilityLink
from catalog.observability import install_default_links, validate_pattern
from tests.catalog.helpers import component, ingest_docs

pytestmark = [pytest.mark.django_db]

ANNOTATED = {
    "annotations": {
        "paved.dev/namespace": "orders-ns",
        "paved.dev/environment": "staging",
        "argocd/app-name": "orders-api-staging",
        "pagerduty.com/service-id": "PSVC001",
    }
}


def _page(client: Any, name: str) -> str:
    url = reverse("catalog:entity-detail", args=["default", "component", name])
    response = client.get(url)
    assert response.status_code == 200
    return str(response.content.decode())


def test_defaults_are_seeded_and_enabled() -> None:
    rows = list(ObservabilityLink.objects.values_list("title", "kind", "enabled"))
    assert rows == [
        ("Grafana dashboard", "dashboard", True),
        ("Logs (Loki)", "logs", True),
        ("Traces (Tempo)", "traces", True),
        ("Argo CD application", "deployment", True),
        ("PagerDuty service", "on-call", True),
    ]
    for link in ObservabilityLink.objects.all():
        validate_pattern(link.url_pattern)  # the seeds pass their own validation


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("https://grafana.example.com/d/x?ns={namespce}", "Unknown placeholder {namespce}; use one of {name}, {namespace}"),
        ("https://grafana.example.com/{}", "Unknown placeholder {}"),
        ("https://grafana.example.com/{name!r}", "{name!r}: placeholders take no format or conversion"),
        ("https://grafana.example.com/{name:>20}", "{name:>20}: placeholders take no format"),
        ("https://grafana.example.com/{name", "The pattern is malformed"),
        ("javascript:alert({name})", "must be an http:// or https:// URL"),
        ("grafana/{name}", "must be an http:// or https:// URL"),
    ],
)  # fmt: skip
def test_bad_patterns_are_rejected_with_a_clear_message(pattern: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_pattern(pattern)
    assert message in info.value.messages[0]


def test_admin_refuses_an_unknown_placeholder_and_saves_a_good_pattern(
    client: Any, platform_admin: Any
) -> None:
    client.force_login(platform_admin)
    url = reverse("admin:catalog_observabilitylink_add")
    form = {"title": "Runbook search", "kind": "other", "enabled": "on", "position": "60",
            "url_pattern": "https://search.example.com/?q={service}"}  # fmt: skip
    response = client.post(url, form)
    assert response.status_code == 200
    assert "Unknown placeholder {service}" in response.content.decode()
    assert not ObservabilityLink.objects.filter(title="Runbook search").exists()

    form["url_pattern"] = "https://search.example.com/?q={name}&env={environment}"
    response = client.post(url, form)
    assert response.status_code == 302
    assert ObservabilityLink.objects.get(title="Runbook search").enabled


def test_component_page_shows_the_resolved_links(
    owner_client: Any, tmp_path: Path, settings: Any
) -> None:
    ingest_docs(tmp_path, [component("orders-api", metadata=ANNOTATED, system="shop")])
    ObservabilityLink.objects.create(
        title="Env dashboard", position=5,
        url_pattern="https://grafana.example.com/d/{system}?ns={namespace}&env={environment}",
    )  # fmt: skip
    ObservabilityLink.objects.filter(title="Traces (Tempo)").update(enabled=False)
    page = _page(owner_client, "orders-api")
    assert (
        'href="https://grafana.example.com/d/paved-service/service?var-namespace=orders-ns'
        '&amp;var-service=orders-api"'
    ) in page
    assert 'href="https://grafana.example.com/d/shop?ns=orders-ns&amp;env=staging"' in page
    assert 'href="https://argocd.example.com/applications/argocd/orders-api-staging"' in page
    assert 'href="https://example.pagerduty.com/service-directory/PSVC001"' in page
    assert "%5C%22orders-ns%5C%22" in page  # the Loki query, inside Grafana's encoded JSON
    assert "Traces (Tempo)" not in page  # disabled
    assert page.index("Env dashboard") < page.index("Grafana dashboard")  # by position
    assert "not available" not in page


def test_links_without_a_value_are_not_shown_and_say_what_fills_them(
    owner_client: Any, tmp_path: Path
) -> None:
    """A component registered by hand, without Paved's annotations: the namespace falls back
    to the name; Argo CD and PagerDuty links need their annotations."""
    ingest_docs(tmp_path, [component("legacy-billing")])
    ObservabilityLink.objects.create(
        title="Env logs", url_pattern="https://logs.example.com/{environment}/{name}"
    )
    page = _page(owner_client, "legacy-billing")
    assert "var-namespace=legacy-billing&amp;var-service=legacy-billing" in page
    assert "applications/argocd/" not in page
    assert "service-directory/" not in page
    assert "logs.example.com" not in page
    assert "PagerDuty service: not available — needs annotation pagerduty.com/service-id." in page
    assert "Argo CD application: not available — needs annotation argocd/app-name." in page
    assert "Env logs: not available — needs annotation paved.dev/environment." in page


def test_values_are_url_encoded(owner_client: Any, tmp_path: Path) -> None:
    odd = {"annotations": {"argocd/app-name": "a b&c=d/../e"}}
    ingest_docs(tmp_path, [component("odd", metadata=odd)])
    page = _page(owner_client, "odd")
    assert 'href="https://argocd.example.com/applications/argocd/a%20b%26c%3Dd%2F..%2Fe"' in page


def test_only_components_get_links(owner_client: Any, tmp_path: Path) -> None:
    api = {"apiVersion": "backstage.io/v1alpha1", "kind": "API",
           "metadata": {"name": "orders"}, "spec": {"type": "openapi", "lifecycle": "production",
                                                    "owner": "team-orders", "definition": "x"}}  # fmt: skip
    ingest_docs(tmp_path, [api])
    url = reverse("catalog:entity-detail", args=["default", "api", "orders"])
    assert "Grafana dashboard" not in owner_client.get(url).content.decode()


@pytest.mark.parametrize("extra", [0, 10])
def test_entity_page_query_count_does_not_grow_with_links(
    client: Any, owner: Any, tmp_path: Path, extra: int, django_assert_num_queries: Any
) -> None:
    ingest_docs(tmp_path, [component("orders-api", metadata=ANNOTATED)])
    for i in range(extra):
        ObservabilityLink.objects.create(
            title=f"Extra {i}", url_pattern=f"https://x{i}.example.com/{{name}}/{{environment}}"
        )
    client.force_login(owner)
    client.get("/")  # absorbs once-a-day writes of other apps (daily-active-user middleware)
    url = reverse("catalog:entity-detail", args=["default", "component", "orders-api"])
    with django_assert_num_queries(5):  # session, user, entity, relations, link patterns
        response = client.get(url)
    assert response.content.decode().count('href="https://x') == extra


def test_installing_the_defaults_is_idempotent_and_keeps_edits() -> None:
    ObservabilityLink.objects.filter(title="Grafana dashboard").update(
        url_pattern="https://grafana.acme.io/d/svc?ns={namespace}", enabled=False
    )
    ObservabilityLink.objects.filter(title="Logs (Loki)").delete()
    assert install_default_links(ObservabilityLink) == 1  # only the missing one
    assert install_default_links(ObservabilityLink) == 0
    grafana = ObservabilityLink.objects.get(title="Grafana dashboard")
    assert (grafana.url_pattern, grafana.enabled) == (
        "https://grafana.acme.io/d/svc?ns={namespace}",
        False,
    )
    assert ObservabilityLink.objects.count() == 5


def test_about_says_who_is_on_call_and_where_the_service_lives(
    owner_client: Any, tmp_path: Path
) -> None:
    team_only = {"annotations": {"paved.dev/on-call": "group:default/team-orders",
                                 "paved.dev/host": "cart.dev.apps.acme.internal",
                                 "paved.dev/environment": "dev"}}  # fmt: skip
    ingest_docs(
        tmp_path,
        [component("orders-api", metadata=ANNOTATED), component("cart", metadata=team_only)],
    )
    assert "<dt>On call</dt><dd>PagerDuty service PSVC001</dd>" in _page(owner_client, "orders-api")
    page = _page(owner_client, "cart")
    assert "<dt>On call</dt><dd>group:default/team-orders</dd>" in page
    assert "<dt>Address</dt><dd>cart.dev.apps.acme.internal (dev)</dd>" in page
