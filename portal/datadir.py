"""What the embedded stack needs on disk, made by `manage.py prepare_data_dir` (`make run` runs
it first) rather than as a side effect of importing the settings."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings


def broker_folders() -> list[Path]:
    """The filesystem broker's folders (none with a Redis broker)."""
    if not settings.PAVED_EMBEDDED_BROKER:
        return []
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    keys = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")
    return sorted({Path(str(options[key])) for key in keys})


def prepare_data_dir() -> list[str]:
    """Create the data dir, the static root, the broker's folders and, when no secret key is
    configured, a random development key in the data dir (owner-readable only). Idempotent;
    returns what it created."""
    created: list[str] = []
    for folder in [Path(settings.PAVED_DATA_DIR), Path(settings.STATIC_ROOT), *broker_folders()]:
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            created.append(str(folder))
    key_file = Path(settings.PAVED_DATA_DIR) / "secret_key"
    if settings.PAVED_SECRET_KEY_GENERATED and not key_file.exists():
        # O_EXCL: two processes preparing at once keep the first key, never a half-written one.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(50))
        created.append(str(key_file))
    return created
