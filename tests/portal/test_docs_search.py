"""Paved's own docs are found by global search."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from portal.docs.search import search_docs
from portal.search.registry import search_everything

ANON = AnonymousUser()


def test_title_hits_come_before_body_hits(django_user_model) -> None:
    hits = search_docs("configuration", ANON, 10)
    assert hits[0].title == "Configuration"
    assert hits[0].url == "/docs/configuration/"
    assert len(hits) > 1  # other pages mention it in their text


def test_body_hit_shows_plain_text_context() -> None:
    (hit,) = [
        h for h in search_docs("visibility timeout", ANON, 10) if h.title == "Operating Paved"
    ]
    assert "visibility timeout" in hit.summary.lower()
    for markup in ("---", "|", "`"):
        assert markup not in hit.summary


def test_nothing_found() -> None:
    assert search_docs("zz-no-such-words-zz", ANON, 10) == []


@pytest.mark.django_db
def test_docs_are_listed_after_other_groups(
    owner, owner_client, django_capture_on_commit_callbacks
) -> None:
    from runs.runner import StepSpec, start_run

    with django_capture_on_commit_callbacks(execute=False):
        start_run(kind="demo", title="A run", actor=owner, steps=[StepSpec("a", "debug:log")])
    labels = [label for label, _ in search_everything("run", owner)]
    assert labels == ["Runs", "Documentation"]
    page = owner_client.get("/search/?q=operating").content.decode()
    assert "Operating Paved" in page
