"""Messages to customers: replies sent through the contact's gateway, and their delivery status.

A reply is sent first and stored only when the channel took it (no transaction is open during
the call: configurator.transactions); delivery reports then move its status forward, never back.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from configurator.limits import REPLY_MAX_CHARS, text_length_problem
from conversations import gateways, lifecycle, outbound
from conversations.choices import MessageDirection, MessageKind, MessageStatus
from conversations.lifecycle import LifecycleError
from conversations.models import Agent, Contact, Message


class ReplyFailed(Exception):
    """The channel did not take the reply; nothing was stored. The message says why."""


def contact_reply(
    *, contact: Contact, text: str = "", media_url: str = "", agent: Agent | None = None
) -> Message:
    """Send a reply to the customer through the contact's gateway, then store it.

    Nothing is stored when the channel refuses: the caller gets `ReplyFailed` with its reason.
    """
    if not text.strip() and not media_url:
        raise ValidationError({"text": _("Write a text or give a media URL.")})
    too_long = text_length_problem(text, REPLY_MAX_CHARS)
    if too_long:
        raise ValidationError({"text": too_long})
    if lifecycle.phase(contact) is lifecycle.Phase.CLOSED:
        raise LifecycleError(
            _("Contact %(id)s cannot get a reply: %(where)s.")
            % {"id": contact.id, "where": lifecycle.describe(contact)}
        )
    gateway = gateways.gateway_for(contact)
    if gateway is None:
        raise LifecycleError(
            _("Contact %(id)s has no channel to reply on (it did not come from Sinch).")
            % {"id": contact.id}
        )
    outgoing = gateways.OutgoingMessage(text=text, media_url=media_url)
    try:
        receipt = gateway.send(contact, outgoing)
    except gateways.GatewayError as exc:
        raise ReplyFailed(str(exc)) from exc
    with transaction.atomic():
        message = Message.objects.create(
            contact=contact,
            direction=MessageDirection.OUTBOUND,
            kind=MessageKind.MEDIA if media_url else MessageKind.TEXT,
            text=text,
            media_url=media_url,
            content=receipt.content or outgoing.content(),
            sinch_message_id=receipt.message_id,
            status=MessageStatus.SENT,
            agent=agent or contact.agent,
        )
        transaction.on_commit(lambda: gateway.stored(message))
    return message


# Later statuses never give way to earlier ones when reports arrive out of order.
_STATUS_RANK: dict[str, int] = {
    MessageStatus.SENT: 0,
    MessageStatus.QUEUED_ON_CHANNEL: 1,
    MessageStatus.SWITCHING_CHANNEL: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.READ: 3,
    MessageStatus.FAILED: 3,
}


def message_status_update(
    *,
    sinch_message_id: str,
    app_id: str,
    status: str,
    reason: str = "",
    at: datetime | None = None,
    sinch_conversation_id: str = "",
) -> Message | None:
    """Apply a delivery report to the outbound message it is about; None when unknown.

    Only a message of a conversation of `app_id` (the reporting app) is looked at. A report on
    an outbound chat still connecting connects or abandons it, and names its Sinch conversation
    (`outbound.chat_connect_on_report`).
    """
    with transaction.atomic():
        # At most one row (unique per app): no ordering, as `first()` would add to the lock.
        rows = (
            Message.objects.select_for_update(of=("self",))
            .select_related("contact")
            .filter(
                sinch_message_id=sinch_message_id,
                direction=MessageDirection.OUTBOUND,
                contact__sinch_app_id=app_id,
            )
        )
        message = next(iter(rows.order_by()[:1]), None)
        if message is None:
            return None
        if _STATUS_RANK.get(status, 0) < _STATUS_RANK.get(message.status, 0):
            return message
        message.status = status
        message.status_reason = reason
        message.status_at = at or timezone.now()
        message.save(update_fields=["status", "status_reason", "status_at"])
        # An outbound chat is connected by its first delivery, abandoned if its start failed.
        outbound.chat_connect_on_report(message, status, sinch_conversation_id)
    return message
