"""Start a small demo run (log, wait, log) and print its URL: see the engine work end to end."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from runs.runner import RunStartError, StepSpec, start_run


class Command(BaseCommand):
    help = (
        "Start a 3-step demo run (debug:log, debug:wait, debug:log) on the worker and print the "
        "URL of its page. Needs a running worker (make run starts one)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--user", default="", help="Requester's username (default: the first superuser)."
        )
        parser.add_argument(
            "--seconds", type=float, default=3.0, help="How long the middle step waits (0 to 600)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self._actor(options["user"])
        seconds = options["seconds"]
        steps = [
            StepSpec("hello", "debug:log", "Say hello", {"message": "Hello from the demo run."}),
            StepSpec("wait", "debug:wait", f"Wait {seconds:g} s", {"seconds": seconds}),
            StepSpec("done", "debug:log", "Say goodbye", {"message": "All three steps ran."}),
        ]
        try:
            run = start_run(kind="demo", title="Demo run", steps=steps, actor=actor)
        except RunStartError as exc:
            raise CommandError(str(exc)) from exc
        url = settings.PAVED_BASE_URL + reverse("runs:run-detail", args=[run.pk])
        self.stdout.write(f"Started run #{run.pk}: {url}")

    def _actor(self, username: str) -> User | None:
        if username:
            try:
                return User.objects.get(username=username)
            except User.DoesNotExist:
                raise CommandError(f"No user named {username!r}.") from None
        return User.objects.filter(is_superuser=True).order_by("pk").first()
