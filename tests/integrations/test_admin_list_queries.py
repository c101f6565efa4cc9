"""The integrations changelist: a fixed number of queries whatever its rows' `set`s name."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.shapes import Rows

pytestmark = pytest.mark.django_db

URL = "/admin/integrations/integration/"


def _queries(client: Client, rows: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    assert response.status_code == 200
    assert response.content.count(b'class="action-select"') == rows
    return len(queries)


def test_changelist_queries_do_not_grow_with_integrations_naming_other_queues_and_agents(
    admin_client_: Client,
) -> None:
    rows = Rows()
    _queries(admin_client_, 0)
    for _ in range(3):
        rows.routing_integration()
    with_n = _queries(admin_client_, 3)
    for _ in range(3):
        rows.routing_integration()
    assert _queries(admin_client_, 6) == with_n


def test_changelist_reports_a_set_naming_a_queue_that_is_gone(admin_client_: Client) -> None:
    rows = Rows()
    integration = rows.routing_integration()
    named = integration.configuration["response"]["set"]["queue"]
    integration.queues.clear()
    rows.queues[-1].delete()
    page = admin_client_.get(URL).content.decode()
    what = f"ID “{named['id']}”" if "id" in named else f"address “{named['address']}”"
    assert f"no queue has the {what}" in page
