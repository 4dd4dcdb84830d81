from django.apps import AppConfig


class ScaffolderConfig(AppConfig):
    name = "scaffolder"
    verbose_name = "Scaffolder"

    def ready(self) -> None:
        from django.conf import settings

        from runs.registry import load_extra_step_modules
        from scaffolder import (
            demo,  # noqa: F401  (registers the demo loader for the shipped templates)
            home,  # noqa: F401  (registers the home section and search)
            run_kind,  # noqa: F401  (registers the "scaffolder" run kind)
            tabs,  # noqa: F401  (the Environments tab on component pages)
        )
        from scaffolder.steps import (  # noqa: F401  (registers step kinds)
            argocd,
            backstage_request,
            catalog,
            cookiecutter,
            data,
            debug,
            fetch_plain,
            fetch_template,
            fs,
            gitlab,
            kubernetes,
            notification,
            publish,
        )
        from scaffolder.steps import oncall as _oncall  # noqa: F401  (on-call step kinds)
        from scaffolder.upgrades import steps as _upgrades  # noqa: F401  (upgrade run kind)
        from scaffolder.upgrades import tabs as _upgrade_tabs  # noqa: F401  (entity tabs)

        load_extra_step_modules(settings.PAVED_EXTRA_STEP_MODULES)
