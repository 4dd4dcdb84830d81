"""Parameters as react-jsonschema-form applies them: page-level oneOf/anyOf, `dependencies`
(oneOf branches, allOf/if/then), a field required only when shown, and every standard format."""

from __future__ import annotations

from typing import Any

import pytest

from scaffolder.parameters import option_key, shown_schema, validate_values

ONE_OF_PAGE: dict[str, Any] = {
    "title": "Source",
    "oneOf": [
        {"title": "From a repository", "required": ["repoUrl"],
         "properties": {"repoUrl": {"type": "string", "format": "uri"}}},
        {"title": "From an image", "required": ["image", "tag"],
         "properties": {"image": {"type": "string"}, "tag": {"type": "string"}}},
    ],
}  # fmt: skip

DEPENDENCIES_PAGE: dict[str, Any] = {
    "title": "Database",
    "properties": {"engine": {"type": "string", "enum": ["postgres", "redis", "none"]}},
    "required": ["engine"],
    "dependencies": {
        "engine": {
            "oneOf": [
                {"properties": {"engine": {"const": "postgres"},
                                "version": {"type": "string", "enum": ["15", "16"]}},
                 "required": ["version"]},
                {"properties": {"engine": {"const": "redis"},
                                "maxMemory": {"type": "integer", "minimum": 64}},
                 "required": ["maxMemory"]},
                {"properties": {"engine": {"const": "none"}}},
            ]
        },
        "version": {
            "allOf": [
                {"if": {"properties": {"version": {"const": "16"}}},
                 "then": {"properties": {"extensions": {"type": "string"}},
                          "required": ["extensions"]}},
            ]
        },
    },
}  # fmt: skip


def _fields(page: dict[str, Any], values: dict[str, Any]) -> tuple[list[str], list[str]]:
    props, required = shown_schema(page, values)
    return sorted(props), sorted(required)


def test_a_page_level_one_of_shows_the_selected_branch_and_validates_it() -> None:
    assert _fields(ONE_OF_PAGE, {}) == (["repoUrl"], ["repoUrl"])
    chosen = {option_key(ONE_OF_PAGE, "oneOf"): 1}
    assert _fields(ONE_OF_PAGE, chosen) == (["image", "tag"], ["image", "tag"])
    # Values that fit a branch select it, as rjsf's matching option does.
    assert _fields(ONE_OF_PAGE, {"image": "nginx"})[0] == ["image", "tag"]

    clean, errors = validate_values([ONE_OF_PAGE], {**chosen, "image": "nginx", "tag": "1"})
    assert errors == {}
    assert clean == {"image": "nginx", "tag": "1"}  # the selector is not a parameter
    _, errors = validate_values([ONE_OF_PAGE], {**chosen, "image": "nginx"})
    assert errors == {"tag": ["This field is required."]}
    _, errors = validate_values([ONE_OF_PAGE], {"repoUrl": "not a uri"})
    assert errors == {"repoUrl": ["Must be a URI like https://example.com/path."]}


def test_dependencies_show_and_require_fields_only_when_their_branch_applies() -> None:
    assert _fields(DEPENDENCIES_PAGE, {}) == (["engine"], ["engine"])
    assert _fields(DEPENDENCIES_PAGE, {"engine": "redis"}) == (
        ["engine", "maxMemory"], ["engine", "maxMemory"])  # fmt: skip
    assert _fields(DEPENDENCIES_PAGE, {"engine": "postgres"}) == (
        ["engine", "version"], ["engine", "version"])  # fmt: skip
    assert _fields(DEPENDENCIES_PAGE, {"engine": "postgres", "version": "16"}) == (
        ["engine", "extensions", "version"], ["engine", "extensions", "version"])  # fmt: skip

    # `extensions` is required only once it is shown.
    clean, errors = validate_values([DEPENDENCIES_PAGE], {"engine": "postgres", "version": "15"})
    assert errors == {}
    assert clean == {"engine": "postgres", "version": "15"}
    _, errors = validate_values([DEPENDENCIES_PAGE], {"engine": "postgres", "version": "16"})
    assert errors == {"extensions": ["This field is required."]}
    _, errors = validate_values([DEPENDENCIES_PAGE], {"engine": "redis", "maxMemory": 8})
    assert errors == {"maxMemory": ["Must be at least 64."]}
    # A value of a branch that is not shown is dropped, as Backstage omits it.
    clean, errors = validate_values(
        [DEPENDENCIES_PAGE], {"engine": "none", "maxMemory": 128, "version": "15"}
    )
    assert errors == {}
    assert clean == {"engine": "none"}


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("time", ["10:00:00Z", "10:00:00", "23:59:60+02:00", "08:30:00.5-05:00"],
         ["25:00:00", "10:00", "10h"]),
        ("date", ["2026-02-28"], ["2026-02-30", "28/02/2026"]),
        ("date-time", ["2026-12-31T10:00:00Z", "2026-12-31t10:00:00+01:00"],
         ["2026-12-31", "2026-12-31T10:00:00", "tomorrow"]),
        ("uri", ["https://example.com/a?b=c", "urn:isbn:0451450523"], ["example.com", "a b"]),
        ("url", ["https://example.com"], ["mailto:a@b.c"]),
        ("email", ["dev@example.com"], ["dev@", "dev example.com"]),
        ("hostname", ["api.example.com"], ["-bad.example.com", "a_b.com"]),
        ("ipv4", ["192.0.2.1"], ["256.1.1.1"]),
        ("ipv6", ["2001:db8::1"], ["2001:db8:::1"]),
        ("uuid", ["123e4567-e89b-12d3-a456-426614174000"], ["123e4567"]),
        ("duration", ["P3D", "PT1H30M", "P1W"], ["P", "3D", "PT"]),
        ("regex", ["^[a-z]+$"], ["(unclosed"]),
        ("json-pointer", ["/a/b~1c"], ["a/b"]),
        ("uri-reference", ["../a/b"], ["a b"]),
    ],
)  # fmt: skip
def test_every_standard_format_is_checked(fmt: str, good: list[str], bad: list[str]) -> None:
    page = {"properties": {"x": {"type": "string", "format": fmt}}}
    for value in good:
        assert validate_values([page], {"x": value})[1] == {}, value
    for value in bad:
        errors = validate_values([page], {"x": value})[1]
        assert list(errors) == ["x"], value
        assert errors["x"][0].startswith("Must be "), errors
