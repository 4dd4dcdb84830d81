from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"
    verbose_name = "Runs"

    def ready(self) -> None:
        from runs import (
            home,  # noqa: F401  (registers the home section and search)
            undo,  # noqa: F401  (registers the undo step kind)
        )
