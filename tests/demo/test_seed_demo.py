"""`manage.py seed_demo`: a demo dataset by bulk inserts, kept away from production."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.test import override_settings
from django.utils import timezone

from cockpit.models import HourlyCount
from conversations.models import Agent, Contact, ContactEvent, Message
from integrations.models import Delivery, Integration, IntegrationTrigger
from messaging.models import Callback, MessagingService
from queues.models import Queue, QueueAddress

pytestmark = pytest.mark.django_db


@override_settings(DEBUG=True)
def test_small_scale_fills_every_table_with_realistic_spreads() -> None:
    out = StringIO()
    call_command("seed_demo", "--scale", "small", stdout=out)

    assert MessagingService.objects.count() == 2
    assert Queue.objects.count() == QueueAddress.objects.count() == 20
    assert Agent.objects.count() == 12
    assert Integration.objects.count() == 6
    assert IntegrationTrigger.objects.exists()
    assert Contact.objects.count() == 300
    assert ContactEvent.objects.count() > 600
    assert Message.objects.count() == 300
    assert Callback.objects.count() == 3000
    assert Delivery.objects.count() == 600
    assert Callback.objects.values("status").distinct().count() == 3
    assert Callback.objects.values("trigger").distinct().count() >= 5
    assert Contact.objects.values("state").distinct().count() >= 6
    assert Delivery.objects.filter(attempt__gt=1).exists()
    # Retries are chained as the runtime writes them: each points at the attempt before it.
    assert not Delivery.objects.filter(attempt__gt=1, previous__isnull=True).exists()
    assert not Delivery.objects.filter(attempt=1, previous__isnull=False).exists()
    assert all(
        row.previous is not None
        and (row.previous.attempt, row.previous.status) == (row.attempt - 1, "retrying")
        for row in Delivery.objects.filter(attempt__gt=1).select_related("previous")
    )
    assert not Callback.objects.filter(status="pending").exists()
    # Integrations that steer routing name different queues and agents.
    routing = [
        i.configuration["response"]["set"]
        for i in Integration.objects.all()
        if "response" in i.configuration
    ]
    assert len({str(target) for target in routing}) == len(routing) >= 2
    per_queue = Contact.objects.values("queue").annotate(n=Count("id"))
    assert per_queue.count() > 10
    assert "300 contacts" in out.getvalue()


@override_settings(DEBUG=True)
def test_refuses_a_database_with_data_unless_told_to_add() -> None:
    call_command("seed_demo", "--scale", "small", stdout=StringIO())

    with pytest.raises(CommandError, match="already holds data"):
        call_command("seed_demo", "--scale", "small", stdout=StringIO())
    assert Queue.objects.count() == 20

    # Hours the home page counted as final before the seed are counted again after it.
    HourlyCount.objects.create(
        hour=timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=5),
        metric="callbacks",
        counts={},
        counted_at=timezone.now(),
        final=True,
    )
    call_command("seed_demo", "--scale", "small", "--add", stdout=StringIO())
    assert Queue.objects.count() == 40
    assert Callback.objects.count() == 6000
    assert not HourlyCount.objects.exists()


@override_settings(DEBUG=False)
def test_refuses_to_run_with_debug_off_unless_told_it_is_not_production() -> None:
    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo", "--scale", "small", stdout=StringIO())
    assert not Queue.objects.exists()

    call_command("seed_demo", "--scale", "small", "--not-production", stdout=StringIO())
    assert Queue.objects.count() == 20


def test_busy_contacts_and_task_results_are_seeded() -> None:
    """A few contacts with many events, messages and deliveries (the contact page's cap is
    measured) and the worker's finished task rows, 0.6 per callback, of the last week."""
    from dataclasses import replace

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from demo.dataset import DemoBuilder
    from demo.scales import SCALES

    scale = replace(SCALES["small"], busy_contacts=2, busy_rows=40, deliveries=2000)
    counts = DemoBuilder(scale=scale, tag="busy", seed=3, report=lambda _: None).build()

    busiest = Contact.objects.annotate(n=Count("events")).order_by("-n")[:3]
    assert [c.n for c in busiest][:2] == [43, 43] and busiest[2].n <= 3
    assert Message.objects.filter(contact=busiest[0]).count() == 41
    assert Delivery.objects.filter(contact=busiest[0]).count() > 20
    assert counts["task results"] == DBTaskResult.objects.count() == 1800
    assert set(DBTaskResult.objects.values_list("status", flat=True)) <= {"SUCCESSFUL", "FAILED"}
    oldest = DBTaskResult.objects.order_by("enqueued_at").first()
    assert oldest and oldest.enqueued_at > timezone.now() - timedelta(days=7)
    assert DBTaskResult.objects.values("enqueued_at").distinct().count() > 1000
