from django.apps import AppConfig


class InfraConfig(AppConfig):
    name = "infra"
    verbose_name = "Self-service infrastructure"

    def ready(self) -> None:
        from infra import (
            home,  # noqa: F401  (registers the home section)
            outcomes,  # noqa: F401  (registers the run kind hook)
            tabs,  # noqa: F401  (Infrastructure and Costs tabs on catalog entity pages)
        )
        from infra.steps import claims, release, request, wiring  # noqa: F401  (registers step kinds)
