"""A private PgBouncer in transaction mode on loopback, for tests and bench/capacity.py.

Debian's `pgbouncer` package (1.18 on Debian 12) is enough; its system service is never used:
each instance gets its own config in a temporary directory, a free port on 127.0.0.1, and logs
in to PostgreSQL as the given user without a password (the server trusts loopback here).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Debian installs it outside a normal user's PATH.
CANDIDATES = ("pgbouncer", "/usr/sbin/pgbouncer")


def binary() -> str | None:
    """The pgbouncer executable, or None when it is not installed."""
    for candidate in CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@dataclass(frozen=True)
class PgBouncer:
    """A running instance: where it listens and its log so far."""

    port: int
    log: Path
    process: subprocess.Popen[bytes]
    executable: str

    def url(self, database: str, user: str = "postgres") -> str:
        """A DATABASE_URL reaching `database` through this pooler."""
        return f"postgres://{user}@127.0.0.1:{self.port}/{database}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def pgbouncer(
    *,
    server_host: str = "127.0.0.1",
    server_port: int = 5432,
    user: str = "postgres",
    pool_size: int = 2,
    max_client_conn: int = 200,
) -> Iterator[PgBouncer]:
    """Run PgBouncer (pool_mode = transaction, `pool_size` server sessions per database).

    A small pool makes every client share server sessions with others, which is exactly what
    breaks session state in production under load. Stopped (SIGTERM, then SIGKILL) on exit.
    """
    executable = binary()
    if executable is None:
        raise FileNotFoundError("pgbouncer is not installed (apt-get install pgbouncer)")
    workdir = Path(tempfile.mkdtemp(prefix="h-pgbouncer-"))
    port = _free_port()
    log = workdir / "pgbouncer.log"
    config = workdir / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={server_host} port={server_port} user={user}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = any\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\n"
        "min_pool_size = 0\n"
        "reserve_pool_size = 0\n"
        f"max_client_conn = {max_client_conn}\n"
        "server_reset_query =\n"
        # psycopg and Django send no startup options PgBouncer cannot pass on, but libpq's
        # PGOPTIONS from the environment would be refused without this.
        "ignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {log}\n"
        "log_connections = 0\n"
        "log_disconnections = 0\n"
    )
    command = [executable, str(config)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # PgBouncer refuses to run as root; CI runs the suite as root.
        os.chmod(workdir, 0o777)  # noqa: S103 - a private temporary directory for its log
        command[1:1] = ["-u", "nobody"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited at start: {log.read_text(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield PgBouncer(port=port, log=log, process=process, executable=executable)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(workdir, ignore_errors=True)
