"""Figures of the messaging app for /metrics, read at scrape time: the callbacks waiting."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone
from prometheus_client.metrics_core import Metric

from configurator.metrics import gauge
from messaging.choices import CallbackStatus
from messaging.models import Callback


def callbacks_backlog() -> Iterable[Metric]:
    """Pending callbacks and the age of the oldest: two lookups in the partial index of pending.

    Their cost follows the backlog, never the callbacks stored over a year.
    """
    pending = Callback.objects.filter(status=CallbackStatus.PENDING)
    waiting = gauge(
        "configurator_callbacks_pending", "Callbacks stored and not yet processed by a worker."
    )
    waiting.add_metric([], pending.count())
    oldest = gauge(
        "configurator_callbacks_oldest_pending_seconds",
        "Age of the oldest callback not yet processed (0 when none waits).",
    )
    received = pending.order_by("id").values_list("received_at", flat=True).first()
    oldest.add_metric([], (timezone.now() - received).total_seconds() if received else 0.0)
    return [waiting, oldest]
