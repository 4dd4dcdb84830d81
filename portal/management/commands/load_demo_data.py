"""Load the demo organisation: 3 teams, 6 people, a few services. Safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from portal.demo import demo_loaders


class Command(BaseCommand):
    help = "Load (or refresh) the demo organisation, catalog and templates. Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        for loader in demo_loaders():
            with transaction.atomic():
                summary = loader.load()
            self.stdout.write(f"{loader.name}: {summary}")
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
