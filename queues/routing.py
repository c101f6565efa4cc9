"""Address → queue routing: which queue an inbound conversation from a Sinch app lands in."""

from __future__ import annotations

from queues.choices import SUBCHANNEL_BY_SINCH_CHANNEL
from queues.models import QueueAddress
from queues.validation import chat_address


def address_for_channel(app_id: str, sinch_channel: str) -> str | None:
    """The chat queue address of a Sinch app on a Conversation API channel (None: no subchannel)."""
    subchannel = SUBCHANNEL_BY_SINCH_CHANNEL.get(sinch_channel.upper())
    if subchannel is None or not app_id:
        return None
    return chat_address(app_id, subchannel.name)


def route(address: str) -> QueueAddress | None:
    """The queue address (with its queue) an address routes to, in one query."""
    try:
        return QueueAddress.objects.select_related("queue").get(address=address)
    except QueueAddress.DoesNotExist:
        return None
