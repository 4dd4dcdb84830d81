"""Scorecards: named checks over catalog data grouped into ordered levels, with result history.

Imported into metrics/models.py so the models belong to the metrics app (one migration history).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from catalog.models import Entity


class Outcome(models.TextChoices):
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    UNKNOWN = "unknown", "Unknown"


class Scorecard(models.Model):
    """A named set of checks; only active scorecards are evaluated."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    # Bumped whenever a level or check changes, so the beat job re-evaluates everything.
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def touch(self) -> None:
        Scorecard.objects.filter(pk=self.pk).update(updated_at=timezone.now())


class Level(models.Model):
    """An ordered step (Bronze < Silver < Gold): reached when every check up to it passes."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="levels")
    name = models.CharField(max_length=100)
    rank = models.PositiveSmallIntegerField(help_text="1 = lowest")

    class Meta:
        ordering = ["scorecard", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "rank"], name="scorecard_level_rank"),
            models.UniqueConstraint(fields=["scorecard", "name"], name="scorecard_level_name"),
        ]

    def __str__(self) -> str:
        return f"{self.scorecard}: {self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        self.scorecard.touch()


class Check(models.Model):
    """One rule (from metrics.scorecards.rules) with parameters, at a level, with a fix hint."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="checks")
    level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="checks")
    key = models.SlugField(max_length=100)
    title = models.CharField(max_length=200)
    rule = models.CharField(max_length=100, help_text="a rule from the registry")
    params = models.JSONField(default=dict, blank=True)
    fix_text = models.TextField(blank=True, help_text="how to fix it")
    fix_url = models.CharField(max_length=500, blank=True, help_text="the action or doc to use")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["scorecard", "level__rank", "order", "key"]
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "key"], name="scorecard_check_key")
        ]

    def __str__(self) -> str:
        return f"{self.scorecard}: {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        self.scorecard.touch()

    def clean(self) -> None:
        from metrics.scorecards.rules import RULES

        if self.rule not in RULES:
            raise ValidationError(
                {"rule": f"unknown rule {self.rule!r}; choose one of {', '.join(sorted(RULES))}"}
            )
        if not isinstance(self.params, dict):
            raise ValidationError({"params": "parameters must be a JSON object"})
        if self.level_id and self.scorecard_id and self.level.scorecard_id != self.scorecard_id:
            raise ValidationError({"level": "the level belongs to another scorecard"})


class ScorecardResult(models.Model):
    """One evaluation of one component; `current` marks the latest per (scorecard, component).

    outcomes: {check_key: {"status": "pass"|"fail"|"unknown", "reason": str}}.
    """

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="results")
    component = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="+")
    evaluated_at = models.DateTimeField(default=timezone.now)
    level_name = models.CharField(max_length=100, blank=True)
    level_rank = models.PositiveSmallIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    outcomes = models.JSONField(default=dict)
    current = models.BooleanField(default=True)

    class Meta:
        ordering = ["-evaluated_at"]
        indexes = [
            models.Index(fields=["scorecard", "component", "-evaluated_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["scorecard", "component"],
                condition=models.Q(current=True),
                name="scorecard_result_one_current",
            )
        ]

    def __str__(self) -> str:
        return f"{self.scorecard} {self.component_id} {self.level_name or '-'}"

    @property
    def score(self) -> float:
        return self.passed / self.total if self.total else 0.0


class ScorecardSnapshot(models.Model):
    """Daily aggregate of current results for the trend chart (owner_ref "" = everyone)."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="snapshots")
    day = models.DateField()
    owner_ref = models.CharField(max_length=400, blank=True)
    components = models.PositiveIntegerField(default=0)
    score = models.FloatField(default=0, help_text="mean share of checks passed")
    levels = models.JSONField(default=dict, help_text="level name -> components")

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["scorecard", "day", "owner_ref"], name="scorecard_snapshot_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scorecard} {self.day} {self.owner_ref or 'all'}"
