"""Writes of the queues app: queues with their addresses, validated beforehand."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from django.db import transaction

from queues.models import Queue, QueueAddress
from queues.validation import CleanAddress

# Called after a queue's overflow settings changed (the conversations app schedules its checks).
_overflow_listeners: list[Callable[[Queue], None]] = []


def on_overflow_change(listener: Callable[[Queue], None]) -> None:
    """Register a function told (after commit) when a queue's overflow settings changed."""
    _overflow_listeners.append(listener)


_UNSET: Any = object()


def queue_create(
    *,
    name: str,
    addresses: Sequence[CleanAddress],
    channel_type: str = "chat",
    description: str = "",
    default_priority: int = 100,
    sms_sender_id: str = "",
    max_waiting_time: timedelta | None = None,
    overflow_queue: Queue | None = None,
) -> Queue:
    """Create a queue with its addresses."""
    queue = Queue(
        name=name,
        description=description,
        channel_type=channel_type,
        default_priority=default_priority,
        sms_sender_id=sms_sender_id,
        max_waiting_time=max_waiting_time,
        overflow_queue=overflow_queue,
    )
    return queue_save(queue=queue, addresses=addresses)


def queue_update(
    *,
    queue: Queue,
    addresses: Sequence[CleanAddress] | None = None,
    **changes: Any,
) -> Queue:
    """Change a queue's fields (given as keywords) and, when given, replace its addresses."""
    for name, value in changes.items():
        setattr(queue, name, value)
    return queue_save(queue=queue, addresses=addresses)


def queue_save(*, queue: Queue, addresses: Sequence[CleanAddress] | None = None) -> Queue:
    """Save a new or changed queue (fields already set) and, when given, its addresses."""
    before = (
        Queue.objects.filter(pk=queue.pk)
        .values_list("max_waiting_time", "overflow_queue_id")
        .first()
        if queue.pk
        else None
    )
    queue.full_clean()
    with transaction.atomic():
        queue.save()
        if addresses is not None:
            addresses_replace(queue=queue, addresses=addresses)
        if (queue.max_waiting_time, queue.overflow_queue_id) != before:
            _announce_overflow(queue)
    return queue


def addresses_replace(*, queue: Queue, addresses: Sequence[CleanAddress]) -> None:
    """Make the queue's addresses exactly these (kept rows keep their ids)."""
    wanted = {a.address: a for a in addresses}
    queue.addresses.exclude(address__in=list(wanted)).delete()
    existing = set(queue.addresses.values_list("address", flat=True))
    QueueAddress.objects.bulk_create(
        QueueAddress(queue=queue, address=a.address, app_id=a.app_id, subchannel=a.subchannel)
        for a in addresses
        if a.address not in existing
    )


def _announce_overflow(queue: Queue) -> None:
    if queue.max_waiting_time is None:
        return
    for listener in _overflow_listeners:
        transaction.on_commit(partial(listener, queue))
