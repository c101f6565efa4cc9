"""Workers ride out database outages, exit non-zero when a loop dies, forget themselves on stop.

Real processes, real outages: the worker reaches PostgreSQL through a loopback TCP forwarder
(tests.tcpproxy) that the test cuts and restores; crashes are real errors in a real worker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from configurator import housekeeping
from configurator.management.commands.db_worker import TaskLoop, supervise
from configurator.models import WorkerHeartbeat
from messaging.models import Callback, MessagingService
from tests.factories import make_queue, make_service
from tests.sinch import fixture_body, post_callback
from tests.tcpproxy import TcpProxy, tcp_proxy
from tests.workers import ROOT, database_address, database_url, start_worker, wait_until, workers

APP = "01E4556565565ERKYO"
UNAVAILABLE = "database unavailable, retrying until it is back"
# The housekeeping loop meets an outage at its next job: the heartbeat, every quarter of
# WORKER_STALE_SECONDS (at least 1 s, at most 10 s); with 4 s it beats every second, so that a
# test waiting for every loop to have seen the outage does not wait 10 s for the housekeeping one.
# The stale-row sweep runs at start and then every WORK_SWEEP_SECONDS (30 s), so no outage in
# these tests makes the worker count itself stopped.
BEATING_EVERY_SECOND = {"WORKER_STALE_SECONDS": "4"}


@contextmanager
def reading(worker: subprocess.Popen[str]) -> Iterator[list[str]]:
    """The worker's output lines as they come (a thread reads the pipe)."""
    lines: list[str] = []

    def read() -> None:
        assert worker.stdout is not None
        for line in worker.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield lines
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        reader.join(timeout=10)


def _until(lines: list[str], done: Callable[[], bool], what: str) -> None:
    """wait_until, showing what the worker logged when it fails."""
    try:
        wait_until(done, 60, what)
    except AssertionError as failed:
        raise AssertionError(f"{failed}; the worker logged:\n{''.join(lines[-30:])}") from None


def _stop(worker: subprocess.Popen[str]) -> int:
    worker.send_signal(signal.SIGTERM)
    return worker.wait(timeout=30)


def _json(lines: list[str]) -> list[dict[str, Any]]:
    """Every line parsed: a line that is not JSON fails the test."""
    return [json.loads(line) for line in lines if line.strip()]


def _post(client: Client, service: MessagingService, n: int) -> None:
    body = fixture_body("message_inbound", message__id=f"01HOUTAGE00000000000000{n:03d}")
    assert post_callback(client, service.pk, body).status_code == 200


def _processed(count: int) -> bool:
    return Callback.objects.filter(status="processed").count() >= count


def _outage_logged_once_per_loop(logged: list[dict[str, Any]]) -> None:
    outages = [line for line in logged if UNAVAILABLE in line["message"]]
    assert outages
    loops = [line["message"].split(":")[0] for line in outages]
    assert len(loops) == len(set(loops)), loops  # once per loop and outage
    assert all(line["level"] == "ERROR" and "Traceback" in line["traceback"] for line in outages)


@pytest.mark.postgres  # a network outage needs a database behind a TCP port
@pytest.mark.django_db(transaction=True)
def test_a_worker_started_while_the_database_is_away_waits_for_it(client: Client) -> None:
    service = make_service(app_id=APP)
    make_queue("Support", [f"{APP}@whatsapp"])
    with tcp_proxy(database_address(), up=False) as proxy, workers() as started:
        worker = start_worker(
            "outage-start",
            LOG_FORMAT="json",
            WORKER_THREADS="2",
            DATABASE_URL=database_url(port=proxy.port),
        )
        started.append(worker)
        with reading(worker) as lines:
            wait_until(lambda: sum(UNAVAILABLE in line for line in lines) >= 3, 30, "outage")
            assert worker.poll() is None
            _post(client, service, 1)
            proxy.restore()
            _until(lines, lambda: _processed(1), "the callback's processing")
            assert _stop(worker) == 0
    logged = _json(lines)
    _outage_logged_once_per_loop(logged)
    assert any("database reachable again" in line["message"] for line in logged)
    assert not WorkerHeartbeat.objects.filter(worker_id="outage-start").exists()


@pytest.mark.postgres  # a network outage needs a database behind a TCP port
@pytest.mark.django_db(transaction=True)
def test_a_worker_survives_a_cut_connection_and_works_on(client: Client) -> None:
    service = make_service(app_id=APP)
    make_queue("Support", [f"{APP}@whatsapp"])
    proxy = TcpProxy(database_address())
    proxy.restore()
    try:
        with workers() as started:
            worker = start_worker(
                "outage-cut",
                LOG_FORMAT="json",
                WORKER_THREADS="2",
                DATABASE_URL=database_url(port=proxy.port),
                **BEATING_EVERY_SECOND,
            )
            started.append(worker)
            with reading(worker) as lines:
                _post(client, service, 1)
                _until(lines, lambda: _processed(1), "the first callback's processing")
                proxy.cut()
                wait_until(lambda: sum(UNAVAILABLE in line for line in lines) >= 3, 30, "outage")
                assert worker.poll() is None
                _post(client, service, 2)
                proxy.restore()
                _until(lines, lambda: _processed(2), "the second callback's processing")
                assert worker.poll() is None
                assert _stop(worker) == 0
    finally:
        proxy.cut()
    logged = _json(lines)
    _outage_logged_once_per_loop(logged)
    assert Callback.objects.filter(status="processed").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_clean_stop_deletes_the_heartbeat_at_once() -> None:
    with workers() as started:
        worker = start_worker("clean-stop", LOG_FORMAT="json", WORKER_THREADS="2")
        started.append(worker)
        wait_until(
            lambda: WorkerHeartbeat.objects.filter(worker_id="clean-stop").exists(),
            60,
            "the heartbeat",
        )
        assert _stop(worker) == 0
        output = worker.stdout.read() if worker.stdout else ""
    assert not WorkerHeartbeat.objects.filter(worker_id="clean-stop").exists()
    _json(output.splitlines())


@pytest.mark.postgres  # a network outage needs a database behind a TCP port
@pytest.mark.django_db(transaction=True)
def test_a_loop_that_dies_of_an_error_exits_the_worker_with_status_1() -> None:
    """A database without the tables: not an outage, an error no retry mends."""
    empty = f"{connection.settings_dict['NAME']}_empty"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{empty}"')
        cursor.execute(f'CREATE DATABASE "{empty}"')
    try:
        with workers() as started:
            worker = start_worker("dies", LOG_FORMAT="json", DATABASE_URL=database_url(name=empty))
            started.append(worker)
            output, _ = worker.communicate(timeout=60)
        assert worker.returncode == 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{empty}" WITH (FORCE)')
    logged = _json(output.splitlines())
    died = [line for line in logged if "died: the worker exits with status 1" in line["message"]]
    assert died and died[0]["level"] == "CRITICAL" and "UndefinedTable" in died[0]["traceback"]


class _Broken(TaskLoop):
    def run(self) -> None:
        raise RuntimeError("a bug in a task loop")


class _Idle(TaskLoop):
    def run(self) -> None:
        while self.running:
            self.stop.wait(0.05)


def _loop(kind: type[TaskLoop], stop: threading.Event, n: int) -> TaskLoop:
    return kind(
        stop=stop,
        queue_names=["default"],
        interval=0.05,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=f"supervised#{n}",
        excluded_queue_names=[],
    )


def test_supervise_exits_1_when_a_loop_dies_and_stops_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = threading.Event()
    idle = _loop(_Idle, stop, 1)
    try:
        with pytest.raises(SystemExit) as exited:
            supervise([_loop(_Broken, stop, 0), idle], stop)
        assert exited.value.code == 1
        assert not housekeeping.loops_alive()  # the heartbeat stops claiming it
    finally:
        housekeeping.set_loops_alive(lambda: True)
    assert stop.is_set() and not idle.running
    (died,) = [r for r in caplog.records if "died" in r.getMessage()]
    assert died.levelname == "CRITICAL" and died.exc_info is not None


def test_uncaught_exceptions_are_logged_as_json_lines_with_a_traceback() -> None:
    program = (
        "import django, threading\n"
        "django.setup()\n"
        "t = threading.Thread(target=lambda: 1 / 0, name='doomed')\n"
        "t.start(); t.join()\n"
        "raise RuntimeError('the main thread fails')\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "LOG_FORMAT": "json",
    }
    ran = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert ran.returncode == 1
    logged = _json(ran.stderr.splitlines())
    thread, main = logged
    assert thread["message"] == "uncaught ZeroDivisionError in thread doomed"
    assert "ZeroDivisionError" in thread["traceback"]
    assert main["message"] == "uncaught RuntimeError"
    assert main["level"] == "CRITICAL" and "the main thread fails" in main["traceback"]
