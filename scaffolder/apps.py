from django.apps import AppConfig


class ScaffolderConfig(AppConfig):
    name = "scaffolder"
    verbose_name = "Scaffolder and runs"

    def ready(self) -> None:
        from django.conf import settings

        from scaffolder import (
            home,  # noqa: F401  (registers the home section and search)
            run_kind,  # noqa: F401  (registers the "scaffolder" run kind)
        )
        from scaffolder.engine.registry import load_extra_step_modules
        from scaffolder.steps import (  # noqa: F401  (registers step kinds)
            argocd,
            catalog,
            debug,
            fetch_plain,
            fetch_template,
            fs,
            infra_request,
            kubernetes,
            notification,
            publish,
        )

        load_extra_step_modules(settings.PAVED_EXTRA_STEP_MODULES)
