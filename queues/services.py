"""Writes of the queues app: queues with their addresses, validated beforehand."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from configurator import extensions
from queues.models import Queue, QueueAddress
from queues.validation import CleanAddress


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
    # One save per new address (a queue has a few): the audit trail records each, as it records
    # each removed one; bulk_create would add them unseen.
    for a in addresses:
        if a.address not in existing:
            QueueAddress.objects.create(
                queue=queue, address=a.address, app_id=a.app_id, subchannel=a.subchannel
            )


def _announce_overflow(queue: Queue) -> None:
    if queue.max_waiting_time is None:
        return
    for listener in extensions.queue_overflow_changed_after_commit:
        transaction.on_commit(partial(listener, queue))


def queue_delete_problems(queue: Queue) -> list[str]:
    """Why a queue may not be deleted now (empty: it may).

    Open conversations would lose their queue, and queues overflowing into it would overflow
    nowhere; contacts are read through the reverse relation (no import of the conversations app).
    """
    problems: list[str] = []
    open_count = queue.contacts.filter(ended_at__isnull=True).count()
    if open_count:
        problems.append(
            _("%(count)s open conversation(s) are in queue %(queue)s: forward or end them first.")
            % {"count": open_count, "queue": queue.name}
        )
    sources = list(queue.overflow_sources.values_list("name", flat=True))
    if sources:
        problems.append(
            _("Queue(s) %(names)s overflow into %(queue)s: change their overflow first.")
            % {"names": ", ".join(sources), "queue": queue.name}
        )
    return problems


def queue_delete(*, queue: Queue) -> None:
    """Delete a queue that nothing depends on; otherwise say what does (ValidationError)."""
    with transaction.atomic():
        problems = queue_delete_problems(queue)
        if problems:
            raise ValidationError(problems)
        queue.delete()
