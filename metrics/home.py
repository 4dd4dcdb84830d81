"""Home page section: offer the quarterly survey to developers who have not answered it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from metrics.survey import QUESTION_SCORE, current_quarter, should_offer_survey
from portal.home.queries import HomeSection, register_section


def _survey(user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    if not should_offer_survey(user):
        return {"rows": []}
    return {"rows": [{"quarter": current_quarter(), "question": QUESTION_SCORE}]}


register_section(
    HomeSection(
        key="survey",
        title="Quarterly developer survey",
        order=90,
        template="metrics/_home_survey.html",
        loader=_survey,
        empty_text="Thanks for your feedback this quarter.",
        empty_action_urlname="metrics:dashboard",
        empty_action_label="See delivery metrics",
    )
)
