"""Schemas as react-jsonschema-form applies them, in a real browser: a page-level oneOf shows a
selector and the chosen branch's fields; `dependencies` (oneOf branches, allOf/if/then) add
fields as the answers change; a field is required only when shown; formats are checked."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from playwright.sync_api import Page, expect

from scaffolder.services import save_template
from tests.conftest import make_group, make_member
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

PAGES: list[dict[str, Any]] = [
    {"title": "Source",
     "oneOf": [
         {"title": "From a repository", "required": ["repoUrl"],
          "properties": {"repoUrl": {"title": "Repository URL", "type": "string",
                                     "format": "uri"}}},
         {"title": "From an image", "required": ["image", "startAt"],
          "properties": {"image": {"title": "Image", "type": "string"},
                         "startAt": {"title": "Start at", "type": "string",
                                     "format": "time"}}},
     ]},
    {"title": "Database",
     "properties": {"engine": {"title": "Engine", "type": "string",
                               "enum": ["postgres", "redis", "none"]}},
     "required": ["engine"],
     "dependencies": {
         "engine": {"oneOf": [
             {"properties": {"engine": {"const": "postgres"},
                             "version": {"title": "Version", "type": "string",
                                         "enum": ["15", "16"]}},
              "required": ["version"]},
             {"properties": {"engine": {"const": "redis"},
                             "maxMemory": {"title": "Max memory", "type": "integer",
                                           "minimum": 64}},
              "required": ["maxMemory"]},
             {"properties": {"engine": {"const": "none"}}},
         ]},
         "version": {"allOf": [
             {"if": {"properties": {"version": {"const": "16"}}},
              "then": {"properties": {"extensions": {"title": "Extensions",
                                                     "type": "string"}},
                       "required": ["extensions"]}},
         ]},
     }},
]  # fmt: skip


def _template() -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "scaffolder.backstage.io/v1beta3",
            "kind": "Template",
            "metadata": {"name": "schemas", "title": "Schemas"},
            "spec": {"owner": "group:default/team-orders", "type": "service",
                     "parameters": PAGES,
                     "steps": [{"id": "log", "action": "debug:log",
                                "input": {"message": "${{ parameters | dump }}"}}]},
        },
        sort_keys=False,
    )  # fmt: skip


def _settled(page: Page) -> None:
    """htmx has swapped and processed the new page (so its fields react to changes)."""
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)


def _sign_in(page: Page, live_server: Any, settings: Any) -> None:
    settings.PAVED_LOCAL_LOGIN = True
    settings.SOCIALACCOUNT_PROVIDERS = {}
    make_member("carol", make_group("team-orders"), first_name="Carol")
    save_template(yaml_text=_template(), actor=None)
    page.goto(f"{live_server.url}/create/default/schemas/")
    page.get_by_label("Username or e-mail").fill("carol")
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Source")).to_be_visible()


def test_a_one_of_page_shows_a_selector_and_the_chosen_branch(
    page: Page, live_server: Any, settings: Any
) -> None:
    _sign_in(page, live_server, settings)
    selector = page.get_by_label("Choose one")
    expect(selector).to_have_value("0")
    expect(page.get_by_label("Repository URL")).to_be_visible()
    expect(page.get_by_label("Image")).to_have_count(0)

    selector.select_option(label="From an image")
    expect(page.get_by_label("Image")).to_be_visible()
    expect(page.get_by_label("Start at")).to_be_visible()
    expect(page.get_by_label("Repository URL")).to_have_count(0)
    _settled(page)

    page.get_by_label("Image").fill("nginx")
    page.get_by_label("Start at").fill("10:00")
    page.get_by_role("button", name="Next →").click()
    expect(page.locator("#field-startAt-errors")).to_contain_text("a time like 10:00:00")
    page.get_by_label("Start at").fill("10:00:00Z")
    page.get_by_role("button", name="Next →").click()
    expect(page.get_by_role("heading", name="Database")).to_be_visible()
    screenshot(page, "wizard-one-of")


def test_dependencies_add_fields_as_the_answers_change(
    page: Page, live_server: Any, settings: Any
) -> None:
    _sign_in(page, live_server, settings)
    expect(page.get_by_label("Choose one")).to_have_value("0")  # "From a repository"
    page.get_by_label("Repository URL").fill("https://example.com/acme/app")
    page.get_by_role("button", name="Next →").click()
    expect(page.get_by_role("heading", name="Database")).to_be_visible()
    expect(page.get_by_label("Version")).to_have_count(0)
    _settled(page)  # the new page's fields react to changes only once htmx has processed them

    page.get_by_label("Engine").select_option("redis")
    expect(page.get_by_label("Max memory")).to_be_visible()
    expect(page.get_by_label("Version")).to_have_count(0)
    _settled(page)
    page.get_by_label("Max memory").fill("8")
    page.get_by_role("button", name="Review").click()
    expect(page.locator("#field-maxMemory-errors")).to_contain_text("Must be at least 64.")
    _settled(page)

    page.get_by_label("Engine").select_option("postgres")
    expect(page.get_by_label("Version")).to_be_visible()
    expect(page.get_by_label("Max memory")).to_have_count(0)
    _settled(page)
    page.get_by_label("Version").select_option("16")
    expect(page.get_by_label("Extensions")).to_be_visible()
    page.get_by_role("button", name="Review").click()
    expect(page.locator("#field-extensions-errors")).to_contain_text("This field is required.")
    _settled(page)

    # Version 15 hides Extensions, and with it the requirement.
    page.get_by_label("Version").select_option("15")
    expect(page.get_by_label("Extensions")).to_have_count(0)
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_role("heading", name="Review")).to_be_visible()
    expect(page.locator("#wizard")).to_contain_text("postgres")
    expect(page.locator("#wizard")).not_to_contain_text("Max memory")
    screenshot(page, "wizard-dependencies")
