"""Demo data for `load_demo_data`: team leads, so production approvals have someone to ask."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from catalog.models import make_ref
from infra.models import TeamLead
from infra.presets import install_presets

DEMO_LEADS = {"team-orders": "carol", "team-payments": "erin"}


def load_demo_infra() -> str:
    created = install_presets()
    leads = 0
    users = get_user_model().objects.filter(username__in=DEMO_LEADS.values())
    by_name = {u.get_username(): u for u in users}
    for team, username in DEMO_LEADS.items():
        user = by_name.get(username)
        if user is None:
            continue
        TeamLead.objects.get_or_create(group_ref=make_ref("Group", "default", team), user=user)
        leads += 1
    return f"{created} preset rows added, {leads} team leads"
