from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from django.conf import settings

        from portal import checks  # noqa: F401  (registers system checks)
        from portal.lib.redaction import register_secret

        register_secret(settings.SECRET_KEY)
