"""Export, the transfer page and an unchanged import's plan read a fixed number of queries."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import (
    inbound,
    make_agent,
    make_integration,
    make_queue,
    make_service,
    outbound,
)
from transfer.document import config_export
from transfer.services import config_import

pytestmark = pytest.mark.django_db
_serial = itertools.count(1)


def _grow() -> None:
    """One more of everything, with relations of its own."""
    n = next(_serial)
    app = f"01GROW{n:020d}"
    make_service(name=f"Service {n}", authentications=[outbound(app), inbound()])
    queue = make_queue(f"Queue {n}", [f"{app}@whatsapp", f"{app}@telegram"])
    overflow = make_queue(f"Overflow {n}", [f"{app}@viber"])
    queue.overflow_queue = overflow
    make_agent(f"Agent {n}", queues=[queue, overflow])
    make_integration(f"Integration {n}", queues=[queue], authentications={"api-key": "k"})


def _queries(run: Callable[[], object]) -> int:
    run()
    with CaptureQueriesContext(connection) as captured:
        run()
    return len(captured)


@pytest.mark.parametrize(
    "target",
    ["export", "page", "download", "unchanged import"],
)
def test_queries_do_not_grow_with_the_configuration(admin_client_: Client, target: str) -> None:
    runs: dict[str, Callable[[], object]] = {
        "export": config_export,
        "page": lambda: admin_client_.get("/admin/configurator/configurationtransfer/"),
        "download": lambda: admin_client_.get("/admin/configurator/configurationtransfer/export/"),
        "unchanged import": lambda: config_import(document=config_export()),
    }
    for _ in range(3):
        _grow()
    with_n = _queries(runs[target])
    for _ in range(3):
        _grow()

    assert _queries(runs[target]) == with_n
