"""Demo data for `load_demo_data`: team leads, so production approvals have someone to ask."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from catalog.models import make_ref
from infra.models import TeamLead
from infra.presets import install_presets

DEMO_LEADS = {"team-orders": "carol", "team-payments": "erin"}


def load_demo_infra() -> str:
    created = install_presets()
    users = get_user_model().objects.filter(username__in=DEMO_LEADS.values())
    by_name = {u.get_username(): u for u in users}
    for team, username in DEMO_LEADS.items():
        user = by_name.get(username)
        if user is None:
            continue
        TeamLead.objects.get_or_create(group_ref=make_ref("Group", "default", team), user=user)
    named = ", ".join(f"{user} ({team})" for team, user in DEMO_LEADS.items() if user in by_name)
    presets = f"{created} resource classes and policies added" if created else "presets in place"
    return f"{presets}; team leads: {named or 'none (load the catalog first)'}"
