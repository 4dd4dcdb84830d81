from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = "Metrics"

    def ready(self) -> None:
        from metrics import demo, home, tabs  # noqa: F401  (home section, demo loader, entity tab)

        # Scorecards: demo loader (Paved's own catalog-info.yaml), save hook, Scorecard tab.
        from metrics.scorecards import demo as scorecard_demo  # noqa: F401
        from metrics.scorecards import signals  # noqa: F401
        from metrics.scorecards import tabs as scorecard_tabs  # noqa: F401
