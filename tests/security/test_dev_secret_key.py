"""Importing the settings writes nothing; `manage.py prepare_data_dir` creates the data dir's
folders and the development key, and every process then agrees on the key."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(120)

PRINT_KEY = (
    "import django; from django.conf import settings; django.setup(); "
    "print(settings.SECRET_KEY, settings.PAVED_SECRET_KEY_GENERATED)"
)


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAVED_")}
    env.pop("CELERY_BROKER_URL", None)
    env.pop("REDIS_URL", None)
    env.update(PAVED_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="portal.settings")
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unused")
    return env


def _run(args: list[str], data_dir: Path) -> str:
    result = subprocess.run(
        args, cwd=ROOT, env=_env(data_dir), capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_importing_settings_creates_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = _run([sys.executable, "-c", PRINT_KEY], data_dir)
    assert not data_dir.exists()
    # Without a key file the development key comes from the data dir: the same in every process.
    assert first == _run([sys.executable, "-c", PRINT_KEY], data_dir)
    assert first.split()[1] == "True"


def test_prepare_data_dir_creates_folders_and_a_private_random_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    derived = _run([sys.executable, "-c", PRINT_KEY], data_dir).split()[0]
    out = _run([sys.executable, "manage.py", "prepare_data_dir"], data_dir)
    for folder in ("static", "broker/queue", "broker/processed", "broker/control"):
        assert (data_dir / folder).is_dir(), out
    key_file = data_dir / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key, generated = _run([sys.executable, "-c", PRINT_KEY], data_dir).split()
    assert key == key_file.read_text().strip() != derived
    assert generated == "True"  # still a development key: check --deploy refuses it
    # Idempotent: a second run keeps the key and creates nothing.
    assert _run([sys.executable, "manage.py", "prepare_data_dir"], data_dir) == ""
    assert key_file.read_text().strip() == key


def test_check_says_how_to_prepare_a_missing_broker_folder(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {**_env(data_dir), "PAVED_DEMO": "true"}
    check = [sys.executable, "manage.py", "check"]
    before = subprocess.run(check, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert "paved.W010" in before.stderr
    assert "manage.py prepare_data_dir" in before.stderr
    _run([sys.executable, "manage.py", "prepare_data_dir"], data_dir)
    after = subprocess.run(check, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert "paved.W010" not in after.stdout + after.stderr
