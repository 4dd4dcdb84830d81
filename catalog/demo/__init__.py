"""Demo organisation for `make run`: teams, people (with portal accounts) and services, ingested
from org.yaml through the real catalog ingestion (a file location)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model

from catalog.ingestion import FILE, Target
from catalog.models import Entity, ObservabilityLink, make_ref
from catalog.observability import install_default_links
from catalog.services import refresh_location, register_location
from catalog.yamlio import parse_documents
from portal.demo import DEMO_PASSWORD

ORG_FILE = Path(__file__).with_name("org.yaml")
STAFF = {"alice", "bob"}


def load_demo_catalog() -> str:
    location = register_location(target=Target(FILE, str(ORG_FILE.resolve())), actor=None)
    result = refresh_location(location=location)
    docs = [d.data for d in parse_documents(ORG_FILE.read_bytes()) if d.data]
    users = _load_accounts(docs)
    links = install_default_links(ObservabilityLink)  # back after a flushed database
    total = result.added + result.updated + result.unchanged
    return f"{total} entities, {users} accounts (password {DEMO_PASSWORD!r})" + (
        f", {links} observability link(s)" if links else ""
    )


def _load_accounts(docs: list[dict[str, Any]]) -> int:
    user_model = get_user_model()
    count = 0
    for doc in docs:
        if doc["kind"] != "User":
            continue
        name = doc["metadata"]["name"]
        profile = doc["spec"].get("profile", {})
        first, _, last = profile.get("displayName", name).partition(" ")
        user, created = user_model.objects.get_or_create(
            username=name,
            defaults={
                "email": profile.get("email", ""),
                "first_name": first,
                "last_name": last,
                "is_staff": name in STAFF,
                "is_superuser": name in STAFF,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        Entity.objects.filter(ref=make_ref("User", "default", name), user__isnull=True).update(
            user=user
        )
        count += 1
    return count
