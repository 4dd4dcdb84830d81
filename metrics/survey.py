"""The quarterly developer survey: the seed's two questions, once per developer per quarter."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from metrics.models import SurveyResponse

QUESTION_SCORE = "On a scale of 0–10, how satisfied are you with the developer platform?"  # noqa: RUF001
QUESTION_IMPROVE = "What's the one thing that would most improve your experience?"


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def current_quarter() -> str:
    return quarter_of(timezone.now().date())


def should_offer_survey(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Offered to each signed-in developer until they answer or dismiss it this quarter."""
    if not user.is_authenticated:
        return False
    return not SurveyResponse.objects.filter(user_id=user.pk, quarter=current_quarter()).exists()


class AlreadyAnswered(Exception):
    """One answer (or dismissal) per person per quarter."""


def answer_survey(*, actor: AbstractBaseUser, score: int, improvement: str) -> SurveyResponse:
    if not 0 <= score <= 10:
        raise ValueError("score must be between 0 and 10")
    try:
        with transaction.atomic():
            return SurveyResponse.objects.create(
                user_id=actor.pk,
                quarter=current_quarter(),
                score=score,
                improvement=improvement.strip()[:4000],
            )
    except IntegrityError:
        raise AlreadyAnswered(f"you already answered the {current_quarter()} survey") from None


def dismiss_survey(*, actor: AbstractBaseUser) -> None:
    SurveyResponse.objects.get_or_create(
        user_id=actor.pk, quarter=current_quarter(), defaults={"dismissed": True}
    )


def survey_results(quarter: str) -> dict[str, Any]:
    """Distribution 0..10, mean, and the NPS-style split (promoters 9-10, passives 7-8,
    detractors 0-6; score = %promoters - %detractors)."""
    scores: list[int] = [
        score
        for score in SurveyResponse.objects.filter(
            quarter=quarter, score__isnull=False
        ).values_list("score", flat=True)
        if score is not None
    ]
    n = len(scores)
    distribution = [scores.count(i) for i in range(11)]
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return {
        "quarter": quarter,
        "responses": n,
        "dismissed": SurveyResponse.objects.filter(quarter=quarter, dismissed=True).count(),
        "distribution": distribution,
        "max_count": max(distribution) if n else 0,
        "mean": sum(scores) / n if n else None,
        "promoters": promoters,
        "passives": n - promoters - detractors,
        "detractors": detractors,
        "nps": round(100 * (promoters - detractors) / n) if n else None,
    }


def improvement_answers(quarter: str) -> list[SurveyResponse]:
    return list(
        SurveyResponse.objects.filter(quarter=quarter)
        .exclude(improvement="")
        .select_related("user")
        .order_by("-created_at")
    )
