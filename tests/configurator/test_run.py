"""`manage.py run` (what scripts/run starts): its worker never outlives it or its web server.

The command runs as a real process on a database of its own; its children are found by a
marker in their environment (Linux /proc), whoever their parent is by then.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from configurator.management.commands.run import _StopSignals

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")


def _marked(marker: str) -> dict[int, str]:
    """pid → command line of every live process started with `marker` in its environment."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # gone meanwhile, or not ours
            continue
        if f"RUN_TEST_MARKER={marker}".encode() in environ.split(b"\0") and state != "Z":
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode()
    return found


def _wait_for(condition: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WAIT_SECONDS} s: {condition}")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database of the command's own (it migrates it), shared by this module's tests."""
    return f"sqlite:///{tmp_path_factory.mktemp('run') / 'run.sqlite3'}"


@pytest.fixture
def marker() -> Iterator[str]:
    """The marker of this test's processes; any left over are killed at the end."""
    value = uuid.uuid4().hex
    yield value
    for pid in _marked(value):
        os.kill(pid, signal.SIGKILL)


def _start(database: str, marker: str, port: int, **extra: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        **extra,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database,
        "ADMIN_PASSWORD": "run-test-password-1",
        "PYTHONUNBUFFERED": "1",
        "RUN_TEST_MARKER": marker,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _children(marker: str) -> dict[str, int]:
    """The run command's web server and worker, by role."""
    roles: dict[str, int] = {}
    for pid, cmdline in _marked(marker).items():
        for role in ("runserver", "db_worker"):
            if f"-m configurator {role}" in cmdline:
                roles[role] = pid
    return roles


def test_busy_port_is_refused_before_a_worker_starts(database: str, marker: str) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        run = _start(database, marker, port)
        stdout, stderr = run.communicate(timeout=WAIT_SECONDS)

        assert run.returncode != 0
        assert f"Cannot listen on 127.0.0.1:{port}" in stderr
        assert "choose another port with --port" in stderr
        assert "Background worker" not in stdout
        assert _marked(marker) == {}


def test_worker_stops_when_the_web_server_ends_abnormally(database: str, marker: str) -> None:
    run = _start(database, marker, _free_port())
    _wait_for("web server and worker started", lambda: len(_children(marker)) == 2)

    os.kill(_children(marker)["runserver"], signal.SIGKILL)
    run.communicate(timeout=WAIT_SECONDS)

    assert run.returncode != 0
    assert _marked(marker) == {}


def test_sigterm_stops_the_web_server_and_the_worker(database: str, marker: str) -> None:
    run = _start(database, marker, _free_port())
    _wait_for("web server and worker started", lambda: len(_children(marker)) == 2)

    run.send_signal(signal.SIGTERM)
    run.communicate(timeout=WAIT_SECONDS)

    assert run.returncode == 0
    assert _marked(marker) == {}


def test_sigterm_right_after_the_worker_starts_stops_everything(database: str, marker: str) -> None:
    # The stop signal is handled from before the first process starts: one that comes while
    # the web server is still starting must not end the command and orphan its processes.
    run = _start(database, marker, _free_port())
    _wait_for("worker started", lambda: "db_worker" in _children(marker))

    run.send_signal(signal.SIGTERM)
    run.communicate(timeout=WAIT_SECONDS)

    assert run.returncode == 0
    _wait_for("every process stopped", lambda: _marked(marker) == {})


def _environ(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(pair.decode().partition("=")[::2] for pair in pairs if b"=" in pair)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - our own server
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_web_server_and_worker_count_metrics_into_one_directory(database: str, marker: str) -> None:
    port = _free_port()
    environment = {"METRICS_ALLOWED_NETWORKS": "127.0.0.1/32"}
    run = _start(database, marker, port, **environment)
    _wait_for("web server and worker started", lambda: len(_children(marker)) == 2)
    children = _children(marker)
    shared = {_environ(pid).get("PROMETHEUS_MULTIPROC_DIR") for pid in children.values()}
    assert len(shared) == 1
    (directory,) = shared
    assert directory and Path(directory).is_dir()

    def answered() -> bool:
        try:
            return _get(f"http://127.0.0.1:{port}/health/ready")[0] == 200
        except OSError:
            return False

    _wait_for("ready: database, migrations, a worker's heartbeat", answered)
    # A refused callback is counted by the web server, in the shared directory.
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/sinch/999999/", data=b"{}", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=30)  # noqa: S310 - our own server
    status, scraped = _get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    assert 'configurator_webhook_refusals_total{reason="unknown_service"} 1.0' in scraped
    assert "configurator_workers_live 1.0" in scraped
    assert list(Path(directory).glob("counter_*.db"))

    run.send_signal(signal.SIGTERM)
    run.communicate(timeout=WAIT_SECONDS)
    assert not Path(directory).exists()


def test_a_stop_signal_during_a_process_start_waits_until_the_start_is_done() -> None:
    # What keeps a started process from being left out of those the command stops: a signal
    # that comes while `Popen` runs is raised only once the process is in the command's list.
    watched = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    before = {number: signal.getsignal(number) for number in watched}
    stops = _StopSignals()
    stops.install()
    done: list[str] = []
    try:
        with pytest.raises(SystemExit), stops.held():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # the handler runs here, in the block, and must not raise yet
            done.append("started")
        with pytest.raises(KeyboardInterrupt), stops.held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            done.append("started again")
        with pytest.raises(SystemExit):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # outside a start, the signal ends the command at once
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)
    assert done == ["started", "started again"]
