from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from django.conf import settings

        from portal import admin_audit, checks  # noqa: F401  (checks registers system checks)
        from portal.docs import search as docs_search
        from portal.lib.redaction import register_secret

        register_secret(settings.SECRET_KEY)
        docs_search.register()
        admin_audit.connect()
