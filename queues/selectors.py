"""Reads of the queues app, with the joins and figures their callers show."""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import Count, Min, Prefetch, Q, QuerySet

from queues.models import Queue, QueueAddress


def queue_list() -> QuerySet[Queue]:
    """Queues with addresses, overflow queue, waiting conversations and the oldest wait.

    "Waiting" is a contact with a `waiting_since` (the conversations app keeps it), read through
    the reverse relation so that this app needs no import of the conversations app.
    """
    return (
        Queue.objects.select_related("overflow_queue")
        .prefetch_related(Prefetch("addresses", queryset=QueueAddress.objects.order_by("address")))
        .annotate(
            waiting_contacts=Count("contacts", filter=Q(contacts__waiting_since__isnull=False)),
            oldest_waiting_since=Min("contacts__waiting_since"),
        )
        # Meta.ordering is not applied to aggregating queries: pages need an explicit order.
        .order_by("name")
    )


def addresses_taken(addresses: Collection[str], *, exclude_queue_id: int | None) -> dict[str, str]:
    """Names of the queues (other than the excluded one) that hold any of these addresses."""
    rows = QueueAddress.objects.filter(address__in=list(addresses))
    if exclude_queue_id is not None:
        rows = rows.exclude(queue_id=exclude_queue_id)
    return dict(rows.values_list("address", "queue__name"))
