"""Real `manage.py db_worker` processes for tests about workers (started, waited for, killed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_address() -> tuple[str, int]:
    """Where the (PostgreSQL) test database listens."""
    settings = connection.settings_dict
    return settings.get("HOST") or "127.0.0.1", int(settings.get("PORT") or 5432)


def database_url(*, port: int | None = None, name: str | None = None) -> str:
    """The test database, for processes started by the test (through `port`, if given)."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{name or settings['NAME']}"
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host, default_port = database_address()
    if port is not None:
        host = "127.0.0.1"
    return f"postgres://{user}{password}@{host}:{port or default_port}/{name or settings['NAME']}"


def start_worker(worker_id: str, **environment: str) -> subprocess.Popen[str]:
    """A db_worker on the test database, polling every 50 ms, with extra settings."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "PYTHONUNBUFFERED": "1",
        **environment,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--no-startup-delay",
            "--no-reload",
            "--interval",
            "0.05",
            "--worker-id",
            worker_id,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def start_gunicorn(port: int, *, workers: int = 1, **environment: str) -> subprocess.Popen[str]:
    """gunicorn with the project's configuration on the test database, on 127.0.0.1:`port`.

    Its output (gunicorn's lines and the app's) is on `stdout`, text.
    """
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "PYTHONUNBUFFERED": "1",
        **environment,
    }
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            "python:configurator.gunicorn_config",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "configurator.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def kill(worker: subprocess.Popen[str]) -> str:
    """SIGKILL the worker (no chance to clean up) and return what it printed."""
    worker.send_signal(signal.SIGKILL)
    output, _ = worker.communicate(timeout=10)
    return output


@contextmanager
def workers() -> Iterator[list[subprocess.Popen[str]]]:
    """Collects started workers and kills whatever is still running at the end."""
    started: list[subprocess.Popen[str]] = []
    try:
        yield started
    finally:
        for worker in started:
            if worker.poll() is None:
                kill(worker)


def wait_until(done: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `done` every 20 ms (a wait ends soon after the event, not up to 0.1 s later);
    AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:g} s"
        time.sleep(0.02)
