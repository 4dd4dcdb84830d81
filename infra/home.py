"""The home page's "My requests" card."""

from __future__ import annotations

from infra.queries import my_requests_section
from portal.home.queries import HomeSection, register_section

register_section(
    HomeSection(
        key="infra",
        title="My requests",
        order=30,
        template="infra/_home_requests.html",
        loader=my_requests_section,
        empty_text="No infrastructure requests yet. Ask for a database, cache, queue or bucket.",
        empty_action_urlname="infra:request-create",
        empty_action_label="Request",
    )
)
