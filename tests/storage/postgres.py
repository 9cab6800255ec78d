"""A throwaway PostgreSQL cluster for the tests: `initdb` into a temporary folder, a server on a
unix socket only (no TCP at all), stopped and deleted at the end.

PostgreSQL refuses to run as root, and CI runs as root: there, `initdb` and `pg_ctl` run as the
`postgres` user (`runuser`), on a folder it owns. Nothing is installed or started by hand.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

BINARIES = Path(os.environ.get("DEPECHE_PG_BIN", "/usr/lib/postgresql/15/bin"))


def available() -> str | None:
    """None when a cluster can be started here, else why not (for a clear skip message)."""
    if not (BINARIES / "initdb").is_file() or not (BINARIES / "pg_ctl").is_file():
        return f"PostgreSQL binaries not found in {BINARIES} (set DEPECHE_PG_BIN)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: PostgreSQL cannot be started as another user"
    return None


def _options(socket_dir: Path) -> str:
    """Server options: a unix socket in `socket_dir` and no TCP; no durability (a throwaway)."""
    durability = "-c fsync=off -c full_page_writes=off"
    return f"-k {socket_dir} -c listen_addresses='' {durability} -c max_connections=60"


def _run(args: list[str], owner: str | None) -> None:
    command = ["runuser", "-u", owner, "--", *args] if owner else args
    subprocess.run(command, check=True, capture_output=True, timeout=120)


@contextlib.contextmanager
def cluster() -> Iterator[Cluster]:
    """Start a cluster; yield it; stop and delete it."""
    owner = "postgres" if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="depeche-pg-"))
    if owner:
        shutil.chown(base, owner, owner)
    data = base / "data"
    running = False
    try:
        _run(
            [
                str(BINARIES / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "depeche",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            owner,
        )
        options = (
            f"-k {base} -c listen_addresses='' -c fsync=off -c full_page_writes=off -c max_connections=60"
        )
        _run(
            [
                str(BINARIES / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(base / "log"),
                "-w",
                "start",
            ],
            owner,
        )
        running = True
        yield Cluster(base, data, owner)
    finally:
        if running:
            with contextlib.suppress(subprocess.SubprocessError):
                _run([str(BINARIES / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], owner)
        shutil.rmtree(base, ignore_errors=True)


class Cluster:
    """A running cluster: its socket folder, and fresh databases on it."""

    def __init__(self, socket_dir: Path, data: Path, owner: str | None) -> None:
        self.socket_dir = socket_dir
        self.data = data
        self.owner = owner

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://depeche@/{database}?host={self.socket_dir}"

    def fresh_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def restart(self) -> None:
        """Stop the server (connections dropped) and start it again."""
        _run([str(BINARIES / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"], self.owner)
        options = _options(self.socket_dir)
        _run(
            [
                str(BINARIES / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.socket_dir / "log"),
                "-w",
                "start",
            ],
            self.owner,
        )
