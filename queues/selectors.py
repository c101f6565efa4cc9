"""Reads of the queues app, with the joins and figures their callers show."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db.models import Count, Min, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

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


# How far an overflow chain is followed looking for a circle: longer chains are not set up by
# hand, and the walk costs a query per queue.
OVERFLOW_WALK_MAX = 100


def overflow_circle(queue: Queue) -> list[str]:
    """The names round the circle that overflow from `queue` enters, closing name repeated
    (["Sales", "Support", "Sales"]); empty when its overflow ends somewhere."""
    seen: list[tuple[int, str]] = [(queue.pk, queue.name)]
    current = queue.overflow_queue_id if queue.max_waiting_time is not None else None
    while current is not None and len(seen) <= OVERFLOW_WALK_MAX:
        for index, (pk, _name) in enumerate(seen):
            if pk == current:
                circle = [name for _pk, name in seen[index:]]
                return [*circle, circle[0]]
        row = (
            Queue.objects.filter(pk=current)
            .values_list("name", "overflow_queue_id", "max_waiting_time")
            .first()
        )
        if row is None:
            return []
        name, following, max_waiting_time = row
        seen.append((current, name))
        current = following if max_waiting_time is not None else None
    return []


def save_warnings(queue: Queue) -> list[str]:
    """What a saved queue will not do as it may seem (shown after a save, not blocking)."""
    circle = overflow_circle(queue)
    if not circle:
        return []
    return [
        _(
            "Overflow goes round in a circle: %(circle)s. A conversation that waits too long "
            "moves from queue to queue in it for ever; give one of them no overflow, or an "
            "overflow queue outside the circle."
        )
        % {"circle": " → ".join(circle)}
    ]
