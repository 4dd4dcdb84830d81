from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Software catalog"

    def ready(self) -> None:
        from catalog import signals, tasks  # noqa: F401
        from catalog.demo import load_demo_catalog
        from catalog.home import register
        from portal.demo import register_demo_loader

        register_demo_loader("catalog", 10, load_demo_catalog)
        register()
