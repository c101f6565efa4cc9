"""Reads of the queues app, with the joins and figures their callers show."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db.models import Count, Min, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce

from queues.choices import SUBCHANNEL_BY_NAME, QueueChannelType
from queues.models import Queue, QueueAddress


def queue_list() -> QuerySet[Queue]:
    """Queues with addresses, overflow queue, waiting conversations and the oldest wait.

    "Waiting" is a contact with a `waiting_since` (the conversations app keeps it), read through
    the reverse relation so that this app needs no import of the conversations app. The figures
    are subqueries per queue listed (served by the index of waiting contacts), not a join of
    every contact grouped by queue: a page of 100 queues reads 100 queues' waiting contacts,
    whatever the number of queues and contacts.
    """
    contact_model: Any = Queue._meta.get_field("contacts").related_model
    waiting = contact_model._default_manager.filter(
        queue=OuterRef("pk"), waiting_since__isnull=False
    ).order_by()
    per_queue = waiting.values("queue")
    return (
        Queue.objects.select_related("overflow_queue")
        .prefetch_related(Prefetch("addresses", queryset=QueueAddress.objects.order_by("address")))
        .annotate(
            waiting_contacts=Coalesce(Subquery(per_queue.annotate(n=Count("pk")).values("n")), 0),
            oldest_waiting_since=Subquery(
                per_queue.annotate(oldest=Min("waiting_since")).values("oldest")
            ),
        )
        .order_by("name")
    )


def addresses_taken(addresses: Collection[str], *, exclude_queue_id: int | None) -> dict[str, str]:
    """Names of the queues (other than the excluded one) that hold any of these addresses."""
    rows = QueueAddress.objects.filter(address__in=list(addresses))
    if exclude_queue_id is not None:
        rows = rows.exclude(queue_id=exclude_queue_id)
    return dict(rows.values_list("address", "queue__name"))


def app_channels(app_ids: Collection[str]) -> dict[str, dict[str, list[str]]]:
    """The Conversation API channels queues are addressed to, per app, with those queues' names.

    {"01E4…": {"WHATSAPP": ["Support"], "SMS": ["Sales", "Support"]}}: what an app needs channel
    credentials for in Sinch (the setup doctor checks it). One query, served by the index of
    addresses by app.
    """
    rows = (
        QueueAddress.objects.filter(app_id__in=list(app_ids))
        .exclude(subchannel="")
        .values_list("app_id", "subchannel", "queue__name")
        .order_by("queue__name")
    )
    found: dict[str, dict[str, list[str]]] = {}
    for app_id, subchannel, queue_name in rows:
        known = SUBCHANNEL_BY_NAME.get(subchannel)
        if known is None:
            continue
        names = found.setdefault(app_id, {}).setdefault(known.sinch_channel, [])
        if queue_name not in names:
            names.append(queue_name)
    return found


def chat_routes(app_ids: Collection[str]) -> list[tuple[str, str, str]]:
    """(app ID, subchannel, queue name) of the chat queue addresses of these apps, oldest first.

    What reaches a queue from each app: the simulator's default channel, and what it lists.
    """
    return list(
        QueueAddress.objects.filter(
            app_id__in=list(app_ids), queue__channel_type=QueueChannelType.CHAT
        )
        .exclude(subchannel="")
        .order_by("id")
        .values_list("app_id", "subchannel", "queue__name")
    )
