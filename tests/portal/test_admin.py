"""Django admin for the platform team: every registered model's pages open, searches and
filters work, run history and audit are read-only, and only staff get in."""

from __future__ import annotations

import pytest
from allauth.socialaccount.models import SocialApp
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _admin_urls(name: str) -> list[tuple[type, str]]:
    return [
        (model, reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{name}"))
        for model in admin.site._registry
    ]


def test_site_is_branded(client, platform_admin) -> None:
    client.force_login(platform_admin)
    page = client.get("/admin/").content.decode()
    assert "Paved administration" in page
    assert "Platform team" in page


def test_every_changelist_opens_searches_and_filters(client, platform_admin) -> None:
    client.force_login(platform_admin)
    for model, url in _admin_urls("changelist"):
        model_admin = admin.site._registry[model]
        assert client.get(url).status_code == 200, url
        if model_admin.search_fields:
            assert client.get(url, {"q": "x"}).status_code == 200, f"{url}?q=x"
        response = client.get(url)
        for spec in response.context["cl"].filter_specs:
            for choice in list(spec.choices(response.context["cl"]))[:2]:
                query = choice["query_string"]
                assert client.get(url + query).status_code == 200, url + query


def test_platform_models_have_useful_list_columns() -> None:
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in {"catalog", "runs", "scaffolder", "infra", "metrics", "portal"}:
            assert model_admin.list_display != ("__str__",), f"{model.__name__} lists only __str__"


@pytest.mark.parametrize("label", ["runs_run", "runs_runlogline", "portal_auditevent"])
def test_history_is_read_only(client, platform_admin, label) -> None:
    client.force_login(platform_admin)
    assert client.get(reverse(f"admin:{label}_add")).status_code == 403


def test_sso_apps_are_not_editable_in_admin() -> None:
    assert not admin.site.is_registered(SocialApp)


def test_developers_are_kept_out(client, owner) -> None:
    client.force_login(owner)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
