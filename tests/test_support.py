"""The suite's own machinery: the `postgres` marker and the HTTPS sink's stop."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import requests
import trustme
from django.db import connection

from tests.httpsink import start_sink


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_test_marked_postgres_runs_only_on_postgresql() -> None:
    assert connection.vendor == "postgresql"


def test_the_sink_stops_its_serving_thread_and_refuses_connections_after(
    sink_ca: tuple[trustme.CA, Path],
) -> None:
    ca, bundle = sink_ca
    before = set(threading.enumerate())
    sink, server = start_sink(ca)
    [serving] = set(threading.enumerate()) - before
    assert requests.get(f"{sink.url}/ping", verify=str(bundle), timeout=10).json() == {"ok": True}
    server.shutdown()
    server.server_close()
    serving.join(timeout=10)
    assert not serving.is_alive()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{sink.url}/ping", verify=str(bundle), timeout=10)
    assert [r.path for r in sink.requests] == ["/ping"]


def test_a_sink_that_never_served_stops_without_waiting() -> None:
    from tests.httpsink import _SinkServer

    server = _SinkServer(("127.0.0.1", 0))
    server.shutdown()
    server.server_close()
