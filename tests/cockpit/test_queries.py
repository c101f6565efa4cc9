"""The home page runs the same queries with N and 2N rows of every kind it counts."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from cockpit.counting import hour_start
from cockpit.rollup import rollup
from configurator.models import WorkerHeartbeat
from conversations.models import Contact
from integrations.models import Integration
from messaging.models import DoctorRun
from tests.cockpit import rows
from tests.factories import make_agent, make_contact, make_integration, make_queue, make_service

pytestmark = pytest.mark.django_db

N = 3
_serial = itertools.count(1)


def _rows(round_: int) -> None:
    """N rows of every kind, whose relations, statuses, addresses and hours differ by round."""
    now = timezone.now()
    app = f"01QUERIES{round_}{next(_serial):011d}"
    service = make_service(app_id=app)
    DoctorRun.objects.create(service=service, webhook_ok=bool(round_ % 2))
    integrations = [make_integration() for _ in range(2)]
    Integration.objects.filter(pk=integrations[0].pk).update(paused_at=now)
    Integration.objects.filter(pk=integrations[1].pk).update(consecutive_failures=2 + round_)
    WorkerHeartbeat.objects.create(
        worker_id=f"host:{round_}", hostname="host", pid=round_ + 1, started_at=now, seen_at=now
    )
    for i in range(N):
        queue = make_queue(addresses=[f"{app}@whatsapp"] if i == 0 else None)
        make_agent(queues=[queue])
        contact = make_contact(queue, identity=f"4670{round_}{i}{next(_serial):05d}")
        if i % 2:
            Contact.objects.filter(pk=contact.pk).update(waiting_since=None, state="accepted")
        rows.contact_event(contact, "abandoned", at=now - timedelta(hours=3 + i))
        for status, hours in [("processed", 0), ("failed", 3 + i), ("pending", 1), ("ignored", 5)]:
            rows.callback(
                service, status=status, at=now - timedelta(hours=hours), simulated=bool(i)
            )
        rows.unrouted(service, f"{app}@sms{i}.sinchconversation.com", at=now - timedelta(hours=i))
        for status, duration in [("succeeded", 40 * i), ("failed", 900), ("retrying", None)]:
            rows.delivery(integrations[i % 2], contact, status=status, duration_ms=duration)
        rows.delivery(integrations[0], contact, status="pending", at=now - timedelta(hours=4))
        DBTaskResult.objects.create(
            status=("READY", "SUCCESSFUL", "FAILED")[i],
            args_kwargs={"args": [], "kwargs": {}},
            task_path="messaging.wake.process_callbacks",
            backend_name="default",
            queue_name="default",
            run_after=now,
        )
    rollup(now=now)


def _queries(client: Client) -> int:
    client.get("/admin/")
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/admin/")
    assert response.status_code == 200
    assert 'id="chart-callbacks"' in response.content.decode()
    return len(captured)


def test_home_page_queries_do_not_grow_with_rows(admin_client_: Client) -> None:
    _rows(0)
    with_n = _queries(admin_client_)
    _rows(1)

    assert _queries(admin_client_) == with_n


def test_home_page_queries_are_the_same_without_counted_hours(admin_client_: Client) -> None:
    _rows(0)
    with_rollup = _queries(admin_client_)
    from cockpit.models import HourlyCount

    HourlyCount.objects.filter(hour__lt=hour_start(timezone.now()) - timedelta(hours=2)).delete()

    assert _queries(admin_client_) == with_rollup


def test_home_page_queries_are_the_same_on_a_fresh_install(admin_client_: Client) -> None:
    """Steps done or not, figures zero or not: the same reads (none is skipped or added)."""
    fresh = _queries(admin_client_)
    _rows(0)

    assert _queries(admin_client_) == fresh
