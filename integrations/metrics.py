"""Figures of the integrations app for /metrics, read at scrape time: the deliveries waiting."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client.metrics_core import Metric

from configurator.metrics import gauge
from integrations.choices import DeliveryStatus
from integrations.models import Delivery


def deliveries_backlog() -> Iterable[Metric]:
    """Background deliveries due, scheduled for later (a retry) and being sent, and the oldest due.

    One aggregate over the (status, created_at) index restricted to pending and sending rows:
    its cost follows the backlog, not the deliveries kept.
    """
    now = timezone.now()
    figures = Delivery.objects.filter(
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]
    ).aggregate(
        due=Count("id", filter=Q(status=DeliveryStatus.PENDING, due_at__lte=now)),
        scheduled=Count("id", filter=Q(status=DeliveryStatus.PENDING, due_at__gt=now)),
        sending=Count("id", filter=Q(status=DeliveryStatus.SENDING)),
        oldest_due=Min("due_at", filter=Q(status=DeliveryStatus.PENDING, due_at__lte=now)),
    )
    backlog = gauge(
        "configurator_deliveries_backlog",
        "Background deliveries not finished: due (waiting for a worker), scheduled (a retry "
        "later), sending (a worker is calling the endpoint).",
        ["state"],
    )
    for state in ("due", "scheduled", "sending"):
        backlog.add_metric([state], figures[state])
    oldest = gauge(
        "configurator_deliveries_oldest_due_seconds",
        "How long the oldest due delivery has been waiting for a worker (0 when none).",
    )
    due_at = figures["oldest_due"]
    oldest.add_metric([], (now - due_at).total_seconds() if due_at else 0.0)
    return [backlog, oldest]
