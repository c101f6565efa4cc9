"""Start Configurator locally: migrations, an administrator, the worker and the web server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

ADMIN_USERNAME = "admin"
# How long a stopped process may take to finish what it is doing before it is killed.
STOP_TIMEOUT_SECONDS = 10


class Command(BaseCommand):
    help = (
        "Run Configurator on this machine: apply migrations, make sure an administrator "
        "exists, start a background worker (db_worker) and the web server beside it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        # Before anything starts: runserver ends its process with os._exit(1) when it cannot
        # listen, so nothing after it would run, and a worker started first would be left over.
        address_check(host, port)
        call_command("migrate", interactive=False, verbosity=0)
        login = self._ensure_admin()
        # `python -m configurator` is manage.py in a checkout and in an installed copy alike.
        manage = [sys.executable, "-m", "configurator"]
        cwd = settings.BASE_DIR if settings.SOURCE_CHECKOUT else None
        metrics_dir, made = metrics_directory()
        # Both processes count into one directory, so that a scrape of the web server shows the
        # worker's counters too (prometheus_client's multiprocess mode, configurator.metrics).
        environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
        stops = _StopSignals()
        stops.install()
        started: list[subprocess.Popen[bytes]] = []
        returncode = 0
        try:
            with stops.held():
                worker = subprocess.Popen(  # noqa: S603 - our own manage.py, fixed arguments
                    [
                        *manage,
                        "db_worker",
                        "--interval",
                        "0.2",
                        "--no-reload",
                        "--no-startup-delay",
                    ],
                    cwd=cwd,
                    env=environment,
                )
                started.append(worker)
            # The web server is a process of its own too, so that however it ends (a port
            # taken meanwhile, a crash, a kill) this command is still there to stop the worker.
            with stops.held():
                web = subprocess.Popen(  # noqa: S603 - our own manage.py, fixed arguments
                    [*manage, "runserver", f"{host}:{port}", "--noreload"],
                    cwd=cwd,
                    env=environment,
                )
                started.insert(0, web)
            url = f"http://{host}:{port}/admin/"
            self.stdout.write(
                self.style.SUCCESS(f"\nConfigurator is starting at {url}\n")
                + f"{login}\nBackground worker: pid {worker.pid}. Stop both with Ctrl+C.\n"
            )
            returncode = web.wait()
        except KeyboardInterrupt:
            pass  # Ctrl+C reached both processes too; they are stopped below either way.
        finally:
            # A second Ctrl+C or SIGTERM while stopping must not leave a process running.
            stops.hold()
            for process in started:
                _stop(process)
            if made:
                shutil.rmtree(metrics_dir, ignore_errors=True)
        if returncode:
            raise CommandError(
                f"The web server stopped with exit status {returncode}; so did the worker.",
                returncode=returncode,
            )

    def _ensure_admin(self) -> str:
        """Create the `admin` superuser on first start; say how to log in."""
        users = get_user_model()
        password = settings.ADMIN_PASSWORD
        if users.objects.filter(is_superuser=True).exists():
            if users.objects.filter(username=ADMIN_USERNAME, is_superuser=True).exists():
                return (
                    f"Log in as “{ADMIN_USERNAME}”"
                    + (
                        f" with password “{password}” (ADMIN_PASSWORD in .env)."
                        if password
                        else "."
                    )
                    + " If you changed it, `python manage.py changepassword admin` resets it."
                )
            return "Log in with your administrator account."
        if not password:
            self.stderr.write("ADMIN_PASSWORD is not set: create an account with createsuperuser.")
            return "No administrator yet: run `python manage.py createsuperuser`."
        users.objects.create_superuser(ADMIN_USERNAME, "", password)
        return (
            f"Created the administrator “{ADMIN_USERNAME}” with password “{password}” "
            "(ADMIN_PASSWORD in .env)."
        )


def address_check(host: str, port: str) -> None:
    """Refuse, with a clear message, an address runserver could not listen on."""
    try:
        number = int(port)
    except ValueError:
        raise CommandError(f"--port {port!r} is not a port number.") from None
    if not 0 < number < 65536:
        raise CommandError(f"--port {port} is not a port number (1-65535).")
    name = host.removeprefix("[").removesuffix("]")
    try:
        candidates = socket.getaddrinfo(name, number, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CommandError(f"--host {host}: {exc.strerror}.") from None
    family, kind, proto, _, address = candidates[0]
    with socket.socket(family, kind, proto) as probe:
        # As runserver's own socket: a port whose last connections are closing is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on {host}:{port}: {exc.strerror}. Another server is probably "
                "running there: stop it, or choose another port with --port."
            ) from None


def metrics_directory() -> tuple[str, bool]:
    """The directory the processes count metrics in, emptied; and whether it was made here.

    PROMETHEUS_MULTIPROC_DIR when the environment sets it (its counters start again from zero,
    as prometheus_client requires of a new set of processes), else a new temporary directory.
    """
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if not given:
        return tempfile.mkdtemp(prefix="configurator-metrics-"), True
    directory = Path(given)
    directory.mkdir(parents=True, exist_ok=True)
    for counted in directory.glob("*.db"):
        counted.unlink()
    return str(directory), False


class _StopSignals:
    """SIGTERM and SIGHUP end the command (SystemExit), SIGINT too (KeyboardInterrupt, Ctrl+C),
    but never while a process is being started.

    Python runs a signal's handler between two steps of the main thread: one raised inside
    `Popen` (while it waits for the child's exec) would leave that child started and unknown to
    the command, so nothing would stop it. A signal that comes while a start is `held()` is
    acted on as soon as the started process is in the command's list. SIGINT is handled even
    where the shell started the command in the background with SIGINT ignored (as a
    non-interactive shell does for `&` jobs).
    """

    def __init__(self) -> None:
        self._holding = False
        self._pending: BaseException | None = None

    def install(self) -> None:
        for name in ("SIGTERM", "SIGHUP"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), lambda *_: self._raise(SystemExit(0)))
        signal.signal(signal.SIGINT, lambda *_: self._raise(KeyboardInterrupt()))

    def _raise(self, stop: BaseException) -> None:
        if self._holding:
            self._pending = self._pending or stop
            return
        raise stop

    def hold(self) -> None:
        """From now on, stop signals are only remembered (the command is stopping already)."""
        self._holding = True

    @contextmanager
    def held(self) -> Iterator[None]:
        """Start a process inside: a stop signal meanwhile is raised once the block is done."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
            pending, self._pending = self._pending, None
            if pending is not None:
                raise pending


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Ask `process` to finish (SIGTERM), and kill it if it has not after a while."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
