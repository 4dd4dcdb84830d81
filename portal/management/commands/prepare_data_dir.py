"""Create the data directory's folders and the development secret key (`make run` runs it)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from portal.datadir import prepare_data_dir


class Command(BaseCommand):
    help = "Create PAVED_DATA_DIR, the static root, the embedded broker's folders and a dev key."
    requires_system_checks: list[str] = []  # the checks report what this command creates

    def handle(self, *args: Any, **options: Any) -> None:
        for path in prepare_data_dir():
            self.stdout.write(f"created {path}")
