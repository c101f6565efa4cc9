"""Overflow: conversations that waited longer than their queue allows move to its overflow queue.

No person has to look: when a conversation starts waiting in a queue with overflow (a lifecycle
event), a check is scheduled for the moment it would be overdue; each check forwards what is
overdue and schedules the next one. Checks are idempotent, so an extra one costs one query.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import DateTimeField, ExpressionWrapper, F, QuerySet, Value
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from django_tasks import task

from configurator import tasks
from conversations import services
from conversations.lifecycle import LifecycleError, LifecycleEvent
from conversations.models import Contact
from queues.models import Queue

logger = logging.getLogger(__name__)

BATCH_SIZE = 100


# When a waiting conversation becomes overdue in its queue.
DUE = ExpressionWrapper(
    F("waiting_since") + F("queue__max_waiting_time"), output_field=DateTimeField()
)


def _waiting_with_overflow() -> QuerySet[Contact]:
    return Contact.objects.filter(
        waiting_since__isnull=False,
        queue__max_waiting_time__isnull=False,
        queue__overflow_queue__isnull=False,
    )


def contacts_forward_overdue(*, now: datetime | None = None) -> int:
    """Forward every conversation that waited longer than its queue allows; returns the count."""
    now = now or timezone.now()
    forwarded = 0
    while True:
        ids = list(
            _waiting_with_overflow()
            .filter(LessThanOrEqual(DUE, Value(now)))
            .order_by("waiting_since")
            .values_list("pk", flat=True)[:BATCH_SIZE]
        )
        if not ids:
            return forwarded
        progress = 0
        for contact in Contact.objects.filter(pk__in=ids).select_related("queue__overflow_queue"):
            if _forward(contact):
                forwarded += 1
                progress += 1
        if progress == 0:
            return forwarded


def _forward(contact: Contact) -> bool:
    queue = contact.queue
    if queue is None or queue.overflow_queue is None or queue.max_waiting_time is None:
        return False
    try:
        services.contact_forward(
            contact=contact,
            queue=queue.overflow_queue,
            by="overflow",
            reason=f"waited longer than {_duration(queue.max_waiting_time)}",
        )
    except (LifecycleError, ValidationError) as exc:
        # Allocated or ended meanwhile, or the overflow queue no longer fits: leave it be.
        logger.info("overflow skipped contact %s: %s", contact.pk, exc)
        return False
    return True


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


def next_due() -> datetime | None:
    """When the next waiting conversation becomes overdue, if any is waiting in such a queue."""
    first: datetime | None = (
        _waiting_with_overflow().annotate(due=DUE).order_by("due").values_list("due", flat=True)
    ).first()
    return first


@task()
def forward_overdue_contacts() -> int:
    """Forward overdue conversations, then schedule the next check."""
    count = contacts_forward_overdue()
    due = next_due()
    if due is not None:
        overflow_check_at(due)
    return count


def overflow_check_at(when: datetime) -> None:
    """Make sure a check runs no later than `when` (one task row, unless one is due by then)."""
    tasks.run_by(forward_overdue_contacts, when)


def overflow_check_on_waiting(event: LifecycleEvent) -> None:
    """Lifecycle listener: a conversation that waits in a queue with overflow gets a check.

    Most events leave no conversation waiting and cost nothing; one that does costs a read of
    its queue's overflow settings by primary key.
    """
    if event.waiting_since is None or event.queue_id is None:
        return
    max_waiting_time = (
        Queue.objects.filter(
            pk=event.queue_id, max_waiting_time__isnull=False, overflow_queue__isnull=False
        )
        .values_list("max_waiting_time", flat=True)
        .first()
    )
    if max_waiting_time is not None:
        overflow_check_at(event.waiting_since + max_waiting_time)


def overflow_check_on_queue_change(queue: Queue) -> None:
    """A queue's overflow settings changed: check its waiting conversations again."""
    due = next_due()
    if due is not None:
        overflow_check_at(due)
