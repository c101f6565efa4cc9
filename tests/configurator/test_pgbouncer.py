"""Behind PgBouncer in transaction mode: what breaks, and that DATABASE_POOLER=pgbouncer works.

A real PgBouncer (Debian's package; tests/pgbouncer.py) on a free loopback port in front of the
test database, with a pool smaller than its clients so that they share server sessions. Skipped
on SQLite and where the `pgbouncer` binary is missing (`apt-get install pgbouncer`; CI has it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.request import Request, urlopen

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import ProgrammingError
from django.test import override_settings

from conversations.models import Contact
from messaging.models import Callback, MessagingService
from messaging.webhooks.storage import CallbackRow, insert_callback
from queues.models import Queue
from tests.pgbouncer import PgBouncer, binary, pgbouncer
from tests.sinch import fixture_body, signed_headers
from tests.workers import ROOT, kill, start_worker, wait_until, workers

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        binary() is None, reason="pgbouncer is not installed (apt-get install pgbouncer)"
    ),
]


@pytest.fixture
def bouncer(transactional_db: None) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode with one server session for the test database."""
    settings = connection.settings_dict
    with pgbouncer(
        server_host=settings.get("HOST") or "127.0.0.1",
        server_port=int(settings.get("PORT") or 5432),
        user=settings.get("USER") or "postgres",
        pool_size=1,
    ) as running:
        yield running


def _wrapper_through(bouncer: PgBouncer) -> BaseDatabaseWrapper:
    """A second Django connection to the test database, through the pooler."""
    settings = dict(connections[DEFAULT_DB_ALIAS].settings_dict)
    settings.update(HOST="127.0.0.1", PORT=str(bouncer.port), PASSWORD="")
    wrapper_class = type(connections[DEFAULT_DB_ALIAS])
    return wrapper_class(settings, alias=f"pgbouncer-{id(settings)}")


def _row(service: MessagingService, n: int) -> CallbackRow:
    now = datetime.now(UTC)
    return CallbackRow(
        service_id=service.pk,
        trigger="MESSAGE_INBOUND",
        app_id="01E4556565565ERKYO",
        message_id=f"01HMSGPOOL{n:016d}",
        contact_id="",
        conversation_id="",
        nonce=f"01HNONCEPOOL{n:014d}",
        signed_at=now,
        received_at=now,
        raw_body=b"{}",
        dedupe_key=f"message:01HMSGPOOL{n:016d}",
    )


def test_prepared_ingest_statement_breaks_behind_a_transaction_pooler(
    bouncer: PgBouncer, service: MessagingService
) -> None:
    """Two web processes share one server session: the second cannot prepare the same name."""
    first, second = _wrapper_through(bouncer), _wrapper_through(bouncer)
    try:
        with override_settings(DATABASE_POOLER=""):
            assert insert_callback(first, _row(service, 1)) is not None
            with pytest.raises(ProgrammingError, match="already exists"):
                insert_callback(second, _row(service, 2))
    finally:
        first.close()
        second.close()


def test_ingest_statement_is_unnamed_with_database_pooler(
    bouncer: PgBouncer, service: MessagingService
) -> None:
    first, second = _wrapper_through(bouncer), _wrapper_through(bouncer)
    try:
        with override_settings(DATABASE_POOLER="pgbouncer"):
            for n in range(3):
                assert insert_callback(first, _row(service, 2 * n)) is not None
                assert insert_callback(second, _row(service, 2 * n + 1)) is not None
            # A used nonce is still refused (the ON CONFLICT path) through the pooler.
            assert insert_callback(second, _row(service, 0)) is None
    finally:
        first.close()
        second.close()
    assert Callback.objects.count() == 6


def _message(n: int) -> bytes:
    """A MESSAGE_INBOUND that opens conversation number `n`."""
    return fixture_body(
        "message_inbound",
        message__id=f"01HMSGBOUNCE{n:014d}",
        message__conversation_id=f"01HCONVBOUNCE{n:013d}",
        message__contact_id=f"01HCONTBOUNCE{n:013d}",
        message__channel_identity__identity=f"4670{n:07d}",
    )


@pytest.fixture
def gunicorn_through(bouncer: PgBouncer) -> Iterator[str]:
    """gunicorn (two sync workers) on the test database through the pooler; its base URL."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": bouncer.url(connection.settings_dict["NAME"]),
        "DATABASE_POOLER": "pgbouncer",
        "CONN_MAX_AGE": "600",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "2",
            "-k",
            "sync",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "configurator.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                # Any answer will do: the login page is one request through the pooler.
                urlopen(f"{base}/admin/login/", timeout=1)  # noqa: S310 - loopback
                break
            except OSError:
                assert server.poll() is None, server.communicate()[0].decode()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _post(base: str, service_id: int, n: int) -> int:
    body = _message(n)
    request = Request(  # noqa: S310 - loopback
        f"{base}/webhooks/sinch/{service_id}/",
        data=body,
        headers=signed_headers(body),
        method="POST",
    )
    with urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        return int(response.status)


def test_webhook_and_worker_through_pgbouncer(
    bouncer: PgBouncer, gunicorn_through: str, service: MessagingService, queue: Queue
) -> None:
    """Callbacks posted concurrently to two web processes and processed by a worker with four
    threads and its housekeeping, every process through one pooled server session."""
    count = 24
    with workers() as started:
        started.append(
            start_worker(
                "bounce-1",
                DATABASE_URL=bouncer.url(connection.settings_dict["NAME"]),
                DATABASE_POOLER="pgbouncer",
                CONN_MAX_AGE="600",
            )
        )
        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses = list(
                pool.map(lambda n: _post(gunicorn_through, service.pk, n), range(count))
            )
        assert statuses == [200] * count
        # A callback is marked processed just after its conversation is queued: wait for both
        # before the worker stops.
        wait_until(
            lambda: (
                Contact.objects.filter(state="queued").count() == count
                and not Callback.objects.exclude(status="processed").exists()
            ),
            90,
            "queueing every conversation through PgBouncer",
        )
        output = kill(started[0])
    assert set(Callback.objects.values_list("status", flat=True)) == {"processed"}
    # No task failed and no housekeeping job did either (each would log a traceback).
    assert "Traceback" not in output, output
    assert "ERROR" not in bouncer.log_text()
