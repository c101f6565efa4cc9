"""Delivery records: a delivery's row, its outcome, its count for /metrics, and the pause.

Shared by the blocking runtime (`runtime`) and the background dispatch (`dispatch`): each
attempt is one `Delivery` row; a success resets the integration's failures in a row, a final
failure adds one, and too many in a row pause it (INTEGRATIONS_PAUSE_AFTER_FAILURES).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from configurator import metrics
from conversations.models import ContactEvent
from integrations.choices import DeliveryMode, DeliveryStatus
from integrations.delivery import Execution, is_blocking
from integrations.models import Delivery, Integration

logger = logging.getLogger(__name__)


def delivery_new(
    integration: Integration,
    contact_id: str,
    entry: ContactEvent,
    when: datetime,
    **fields: Any,
) -> Delivery:
    """A (not yet saved) delivery of `integration` for this event, in its mode."""
    mode = (
        DeliveryMode.BLOCKING if is_blocking(integration.configuration) else DeliveryMode.BACKGROUND
    )
    return Delivery(
        integration=integration,
        contact_id=contact_id,
        contact_event=entry,
        event=entry.event,
        mode=mode,
        created_at=when,
        due_at=when,
        **fields,
    )


def delivery_record(
    delivery: Delivery, execution: Execution, applied: Mapping[str, Any]
) -> Delivery:
    """Fill a delivery from what happened and store it; a success resets the failure count."""
    delivery.status = execution.status
    delivery.request = execution.request
    delivery.status_code = execution.status_code
    delivery.duration_ms = execution.duration_ms
    delivery.response_excerpt = execution.response_excerpt
    delivery.error = execution.error
    delivery.applied = dict(applied)
    delivery.finished_at = timezone.now()
    delivery.save()
    if delivery.status == DeliveryStatus.SUCCEEDED and delivery.integration.consecutive_failures:
        _failures_reset(delivery.integration_id)
    count_finished(delivery, since_event=delivery.contact_event.occurred_at)
    logger.info(
        "delivery %s of integration %s %s (HTTP %s, %s ms)",
        delivery.pk,
        delivery.integration_id,
        delivery.status,
        delivery.status_code or "-",
        delivery.duration_ms if delivery.duration_ms is not None else "-",
        extra={"integration_id": delivery.integration_id, "contact_id": delivery.contact_id},
    )
    return delivery


def count_finished(delivery: Delivery, *, since_event: datetime | None = None) -> None:
    """Count a finished delivery for /metrics once its transaction commits.

    The status is read at the commit: a failure whose next attempt was scheduled meanwhile
    counts as `retrying`.
    """

    def count() -> None:
        duration = delivery.duration_ms / 1000 if delivery.duration_ms is not None else None
        finished = delivery.finished_at or timezone.now()
        metrics.delivery_finished(
            integration_id=delivery.integration_id,
            status=str(delivery.status),
            mode=str(delivery.mode),
            duration_seconds=duration,
            latency_seconds=(finished - since_event).total_seconds() if since_event else None,
        )

    transaction.on_commit(count)


def _failures_reset(integration_id: int) -> None:
    Integration.objects.filter(pk=integration_id, consecutive_failures__gt=0).update(
        consecutive_failures=0
    )


def count_final_failure(integration_id: int, error: str) -> None:
    """Count one more final failure in a row, and pause the integration when there are too many."""
    Integration.objects.filter(pk=integration_id).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    threshold: int = settings.INTEGRATIONS_PAUSE_AFTER_FAILURES
    Integration.objects.filter(
        pk=integration_id, paused_at__isnull=True, consecutive_failures__gte=threshold
    ).update(
        paused_at=timezone.now(),
        paused_reason=(
            f"{threshold} deliveries in a row failed; the last: {error}"[:1000]
            + " Resume the integration once the endpoint works."
        ),
    )
