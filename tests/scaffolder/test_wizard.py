"""The "Create" pages: cards, the multi-page wizard, field validation, review, create, editor."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from catalog.models import Entity
from runs.models import Run, Step
from scaffolder.demo import load_builtin_templates
from scaffolder.models import TemplatePublication

pytestmark = pytest.mark.django_db

WIZARD = "/create/default/python-service/"


@pytest.fixture
def templates() -> None:
    load_builtin_templates()


def test_template_list_recommended_first_and_search(owner_client: Client, templates: None) -> None:
    assert reverse("scaffolder:template-list") == "/create/"
    page = owner_client.get("/create/").content.decode()
    assert page.index("Python service (FastAPI)") < page.index("Static documentation site")
    assert "Recommended" in page
    assert "owned by platform-team" in page  # the team by name, not its reference
    hit = owner_client.get("/create/?q=fastapi", headers={"HX-Request": "true"}).content.decode()
    assert "Python service" in hit
    assert "Static documentation site" not in hit
    hit = owner_client.get("/create/?q=mkdocs", headers={"HX-Request": "true"}).content.decode()
    assert "Static documentation site" in hit
    assert "Python service" not in hit
    assert "<html" not in hit


def test_template_list_query_count(
    owner_client: Client, templates: None, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(8):
        owner_client.get("/create/")


def _post(client: Client, data: dict[str, Any], htmx: bool = False) -> Any:
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(WIZARD, data, headers=headers)


def test_wizard_pages_validation_review_and_create(
    owner_client: Client, owner: User, team: Entity, templates: None
) -> None:
    page = owner_client.get(WIZARD).content.decode()
    assert 'name="name"' in page
    assert 'role="combobox" ' in page  # the owner is searched in the catalog, not listed
    assert 'hx-get="/create/entities?' in page
    assert "kubernetes:namespace" in page  # the steps that will run
    assert 'id="field-name-errors"' in page
    assert 'hx-post="/create/default/python-service/validate"' in page
    # Page 1 with a bad name: 422 and the message next to the field, no run.
    response = _post(
        owner_client,
        {"state": "{}", "page": "0", "action": "next", "name": "Bad Name", "owner": ""},
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "“bad-name” would do" in body
    assert "[a-z" not in body.split('id="field-name-errors"')[1][:400]
    assert "This field is required." in body
    # Page 1 valid -> page 2.
    response = _post(owner_client, {"state": "{}", "page": "0", "action": "next", "name": "orders-api",
                                    "owner": "group:default/team-orders", "lifecycle": "production"})  # fmt: skip
    assert response.status_code == 200
    state = response.context["state"]
    assert 'name="repoUrl__owner"' in response.content.decode()
    # The repository starts as <owning team>/<service name>, from page 1's answers.
    assert 'id="id_repoUrl__owner" value="team-orders"' in response.content.decode()
    assert 'id="id_repoUrl__repo" value="orders-api"' in response.content.decode()
    # The on-call choice is there, preset to the platform's tool: nothing new to fill in.
    assert "The platform&#x27;s on-call tool (as configured)" in response.content.decode()
    assert "The owning team only (no rotation)" in response.content.decode()
    # Page 2 -> review listing every value.
    response = _post(owner_client, {"state": state, "page": "1", "action": "next", "repoUrl__host": "localhost",
                                    "repoUrl__owner": "team-orders", "repoUrl__repo": "orders-api",
                                    "environment": "dev", "port": "8000", "canary__present": "1", "canary": "on"})  # fmt: skip
    assert response.status_code == 200
    review = response.content.decode()
    assert "Review" in review
    # The repository as people read it, the owner by name with its reference after it.
    assert "team-orders/orders-api on localhost" in review
    assert "?owner=" not in review.split("Review", 1)[1].split("<form", 1)[0]
    assert "team-orders (group:default/team-orders)" in review
    assert "orders-api" in review
    assert "production" in review
    state = response.context["state"]
    assert json.loads(state)["port"] == 8000
    assert json.loads(state)["canary"] is True
    # Create starts the run and redirects to its page.
    response = _post(owner_client, {"state": state, "page": "1", "action": "create"})
    run = Run.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.pk}/"
    assert run.kind == "scaffolder"
    assert run.requested_by == owner
    assert run.inputs["name"] == "orders-api"
    assert run.inputs["repoUrl"].startswith("localhost?")
    assert Step.objects.filter(run=run).count() == 8  # 3 on-call steps, one of which runs
    assert run.inputs["onCall"] == "platform"  # the default: nothing to fill in


def test_create_with_tampered_state_never_starts_a_run(
    owner_client: Client, templates: None
) -> None:
    state = json.dumps({"name": "x", "owner": "group:default/team-orders"})
    response = _post(owner_client, {"state": state, "page": "1", "action": "create"})
    assert response.status_code == 422
    assert "repoUrl: This field is required." in response.content.decode()
    assert not Run.objects.exists()


def test_field_validation_as_you_type(owner_client: Client, templates: None) -> None:
    url = "/create/default/python-service/validate"
    bad = owner_client.post(
        url,
        {"field": "name", "page": "0", "state": "{}", "name": "UPPER"},
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 422
    assert 'id="field-name-errors"' in bad.content.decode()
    assert "Use lower-case letters only: “upper”." in bad.content.decode()
    good = owner_client.post(
        url,
        {"field": "name", "page": "0", "state": "{}", "name": "fine-name"},
        headers={"HX-Request": "true"},
    )
    assert good.status_code == 200
    assert "<li>" not in good.content.decode()
    repo = owner_client.post(url, {"field": "repoUrl", "page": "1", "state": "{}", "repoUrl__host": "h",
                                   "repoUrl__owner": "o", "repoUrl__repo": ""}, headers={"HX-Request": "true"})  # fmt: skip
    assert repo.status_code == 422
    assert "no repo=" in repo.content.decode()


def test_hidden_pages_follow_when(
    owner_client: Client, platform_admin: User, client: Client
) -> None:
    from scaffolder.services import save_template_file

    save_template_file(
        "/work/shared/corpus/backstage/backstage-backstage/plugins/scaffolder-backend/sample-templates/conditional-parameters-demo/template.yaml"
    )
    url = "/create/default/conditional-parameters-demo/"
    response = owner_client.post(
        url, {"state": "{}", "page": "0", "action": "next", "name": "x", "cloudProvider": "GCP"}
    )
    assert response.status_code == 200
    assert "GCP Configuration" in response.content.decode()
    assert response.context["page_index"] == 2


def test_editor_is_staff_only_and_dry_runs_without_side_effects(
    client: Client, owner_client: Client, platform_admin: User, templates: None
) -> None:
    assert owner_client.get("/create/editor/").status_code == 403
    client.force_login(platform_admin)
    from scaffolder.models import TemplateVersion

    text = TemplateVersion.objects.get(ref="template:default/python-service").yaml_text
    loaded = client.post("/create/editor/", {"yaml": text, "action": "load"})
    assert loaded.status_code == 200
    assert 'name="name"' in loaded.content.decode()
    result = client.post("/create/editor/", {"yaml": text, "action": "dry-run", "name": "pay-api",
                                             "owner": "group:default/team-orders", "repoUrl__host": "localhost",
                                             "repoUrl__owner": "pay", "repoUrl__repo": "pay-api", "environment": "dev"})  # fmt: skip
    body = result.content.decode()
    assert result.status_code == 200, body[:2000]
    assert "docs/runbook.md" in body
    assert "app/main.py" in body
    assert "not executed" in body
    assert "pay-api-dev" in body  # resolved input of the Argo CD step
    assert not Run.objects.exists()
    assert not Entity.objects.filter(kind="Component").exists()
    broken = client.post(
        "/create/editor/",
        {"yaml": text.replace("action: publish:git", "action: publish:nowhere"), "action": "load"},
    )
    assert broken.status_code == 422
    assert "editor:" in broken.content.decode()
    assert "unknown action" in broken.content.decode()


def test_an_invalid_catalog_template_is_explained_not_run(owner_client: Client) -> None:
    broken = Entity.objects.create(
        kind="Template", name="broken", api_version="scaffolder.backstage.io/v1beta3",
        spec={"type": "service", "steps": [{"id": "x", "action": "fetch:rails", "input": {}}]},
    )  # fmt: skip
    TemplatePublication.objects.create(entity=broken)  # saved by the platform team
    response = owner_client.get("/create/default/broken/")
    assert response.status_code == 422
    assert "action &#x27;fetch:rails&#x27; is not available in Paved" in response.content.decode()
    assert not Run.objects.exists()


def test_dependencies_and_if_then_show_dependent_fields() -> None:
    from scaffolder.forms import page_fields_view
    from scaffolder.parameters import validate_page

    page = {
        "properties": {"db": {"type": "string", "enum": ["none", "postgres"]}, "ha": {"type": "boolean"}},
        "dependencies": {"db": {"oneOf": [
            {"properties": {"db": {"enum": ["none"]}}},
            {"properties": {"db": {"enum": ["postgres"]}, "size": {"type": "string", "enum": ["s", "m"]}},
             "required": ["size"]},
        ]}},
        "if": {"properties": {"ha": {"const": True}}, "required": ["ha"]},
        "then": {"properties": {"replicas": {"type": "integer", "minimum": 2}}, "required": ["replicas"]},
    }  # fmt: skip
    names = lambda values: [f.name for f in page_fields_view(page, values)]  # noqa: E731
    assert names({"db": "none"}) == ["db", "ha"]
    assert names({"db": "postgres", "ha": True}) == ["db", "ha", "size", "replicas"]
    assert validate_page(page, {"db": "postgres"}) != {}
    assert validate_page(page, {"db": "postgres", "size": "s", "ha": True, "replicas": 1}) != {}
    assert validate_page(page, {"db": "postgres", "size": "s", "ha": True, "replicas": 3}) == {}


@pytest.mark.parametrize(
    ("persona", "allowed"), [("owner", True), ("outsider", False), ("platform_admin", True)]
)
def test_a_template_limited_to_some_groups(
    request: pytest.FixtureRequest, templates: None, owner: User, persona: str, allowed: bool
) -> None:
    """`paved.dev/allowed-groups` hides the template from other teams: not listed, 404 in the
    wizard, and the service refuses to start a run for them."""
    from runs.runner import RunStartError
    from scaffolder.services import start_template_run, version_for_entity

    entity = Entity.objects.get(kind__iexact="template", name="python-service")
    entity.metadata = {
        **entity.metadata,
        "annotations": {
            **(entity.metadata.get("annotations") or {}),
            "paved.dev/allowed-groups": "team-orders",
        },
    }
    entity.save()
    user = request.getfixturevalue(persona)
    client = Client()
    client.force_login(user)
    listed = "Python service (FastAPI)" in client.get("/create/").content.decode()
    assert listed is allowed
    assert client.get(WIZARD).status_code == (200 if allowed else 404)
    # Search offers the wizard only to those who may use it (the catalog entity stays visible).
    searched = client.get("/search/", {"q": "fastapi"}).content.decode()
    assert (f'href="{WIZARD}"' in searched) is allowed
    if not allowed:
        with pytest.raises(RunStartError, match="limited to group:default/team-orders"):
            start_template_run(version=version_for_entity(entity), values={}, actor=user)
        assert not Run.objects.exists()


def test_a_page_that_does_not_exist_shows_the_first_one(
    owner_client: Client, templates: None
) -> None:
    for page in ("99", "-1"):
        assert owner_client.get(f"{WIZARD}?page={page}").status_code == 200
        response = _post(owner_client, {"state": "{}", "page": page, "action": "next"})
        assert response.status_code in (200, 422)
        assert 'name="name"' in response.content.decode()  # the first page's field
    response = owner_client.post(
        f"{WIZARD}validate", {"state": "{}", "page": "-1", "field": "name", "name": "x"}
    )
    assert response.status_code == 404


def test_owner_is_prefilled_with_my_team(
    owner_client: Client, owner: User, team: Entity, templates: None
) -> None:
    page = owner_client.get(WIZARD).content.decode()
    assert 'name="owner" id="id_owner" value="group:default/team-orders"' in page


def test_owner_is_left_empty_for_someone_without_a_team(client: Client, templates: None) -> None:
    client.force_login(User.objects.create_user("loner", "loner@example.com", "x"))
    page = client.get(WIZARD).content.decode()
    assert 'name="owner" id="id_owner" value=""' in page


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("Orders API", "“orders-api” would do"),
        ("UPPER", "Use lower-case letters only: “upper”."),
        ("9lives", "Start with a letter, not “9”."),
        ("orders-", "End with a letter or a digit, not “-”."),
        ("ab"[:1], "Too short: use at least 3 characters."),
        ("a" * 50, "Too long: use at most 40 characters."),
        ("Über API", "“uber-api” would do"),
        ("日本語", "Lower-case letters, digits and dashes"),  # the field's own description
    ],
)
def test_name_errors_say_what_is_wrong_in_plain_words(
    owner_client: Client, templates: None, typed: str, message: str
) -> None:
    response = owner_client.post(
        "/create/default/python-service/validate",
        {"field": "name", "page": "0", "state": "{}", "name": typed},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert message in body
    assert "pattern" not in body.lower()
    assert "[a-z]" not in body
