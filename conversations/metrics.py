"""Figures of the conversations app for /metrics, read at scrape time: who waits in which queue."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.metrics_core import Metric

from configurator.metrics import gauge
from conversations.models import Contact
from queues.models import Queue


def queues_waiting() -> Iterable[Metric]:
    """Conversations waiting per queue and the oldest wait, for the queues where any waits.

    Read from the partial index of waiting contacts (queue, waiting_since): the cost follows the
    conversations waiting now, not the contacts kept, and queues nobody waits in are left out
    (10,000 queues would be 20,000 series of zeros; `configurator_conversations_waiting` is the
    total).
    """
    now = timezone.now()
    rows = list(
        Contact.objects.filter(waiting_since__isnull=False, queue__isnull=False)
        .values("queue_id")
        .annotate(waiting=Count("id"), oldest=Min("waiting_since"))
        .order_by()
    )
    names = dict(
        Queue.objects.filter(pk__in=[row["queue_id"] for row in rows])
        .order_by()
        .values_list("pk", "name")
    )
    waiting = gauge(
        "configurator_queue_conversations_waiting",
        "Conversations waiting for an agent in a queue (queues with none are left out).",
        ["queue_id", "queue"],
    )
    oldest = gauge(
        "configurator_queue_oldest_wait_seconds",
        "How long the longest-waiting conversation of a queue has waited.",
        ["queue_id", "queue"],
    )
    total = 0
    for row in rows:
        labels = [str(row["queue_id"]), names.get(row["queue_id"], "")]
        waiting.add_metric(labels, row["waiting"])
        oldest.add_metric(labels, max((now - row["oldest"]).total_seconds(), 0.0))
        total += row["waiting"]
    overall = gauge(
        "configurator_conversations_waiting", "Conversations waiting for an agent, in all queues."
    )
    overall.add_metric([], total)
    return [overall, waiting, oldest]
