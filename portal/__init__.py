"""The Paved project package: settings, URLs, the Celery app, home, search and auth."""

from portal.celery import app as celery_app

__all__ = ["celery_app"]
