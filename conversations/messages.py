"""Messages to customers: replies sent through the contact's gateway, and their delivery status.

A reply is sent first and stored only when the channel took it (no transaction is open during
the call: configurator.transactions); delivery reports then move its status forward, never back.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from configurator import audit
from configurator.choices import AuditOperation
from configurator.limits import REPLY_MAX_CHARS, text_length_problem
from conversations import gateways, lifecycle, outbound, outbound_checks
from conversations.choices import MessageDirection, MessageKind, MessageStatus, SentAs
from conversations.lifecycle import LifecycleError
from conversations.models import Agent, Contact, Message

MEDIA_URL_MAX_CHARS = 2000
MEDIA_TYPE_MAX_CHARS = 100
# A content type as `type/subtype`, parameters allowed (`audio/ogg; codecs=opus`).
_MEDIA_TYPE_RE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*(\s*;.*)?$")


class ReplyFailed(Exception):
    """The channel did not take the reply; nothing was stored. The message says why."""


def outgoing_message_check(*, text: str, media_url: str, media_type: str = "") -> None:
    """Raise ValidationError by field unless this is a message an agent can send."""
    errors: dict[str, str] = {}
    if not text.strip() and not media_url:
        errors["text"] = _("Write a text or give a media URL.")
    too_long = text_length_problem(text, REPLY_MAX_CHARS)
    if too_long:
        errors["text"] = too_long
    if media_url:
        try:
            URLValidator(schemes=["http", "https"])(media_url)
        except ValidationError:
            errors["media_url"] = _("Give the media's http(s):// address.")
        if len(media_url) > MEDIA_URL_MAX_CHARS:
            errors["media_url"] = _("A media URL has at most %(max)d characters.") % {
                "max": MEDIA_URL_MAX_CHARS
            }
    if media_type and (
        len(media_type) > MEDIA_TYPE_MAX_CHARS or not _MEDIA_TYPE_RE.match(media_type)
    ):
        errors["media_type"] = _("Give a content type such as audio/ogg or image/png.")
    elif media_type and not media_url:
        errors["media_type"] = _("A content type goes with a media URL.")
    if errors:
        raise ValidationError(errors)


def contact_reply(
    *,
    contact: Contact,
    text: str = "",
    media_url: str = "",
    media_type: str = "",
    agent: Agent | None = None,
) -> Message:
    """Send a reply to the customer through the contact's gateway, then store it.

    Nothing is stored when the channel refuses: the caller gets `ReplyFailed` with its reason.
    WhatsApp takes free text and media only within 24 hours of the customer's last message.
    Media may go as a link (gateways.OutgoingMessage.app_message): `sent_as` tells.
    """
    outgoing_message_check(text=text, media_url=media_url, media_type=media_type)
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
    if not contact.simulated:
        closed = outbound_checks.whatsapp_window_problem(
            app_id=contact.sinch_app_id, channel=contact.sinch_channel, identity=contact.source
        )
        if closed:
            raise ValidationError({"text": closed})
    outgoing = gateways.OutgoingMessage(text=text, media_url=media_url, media_type=media_type)
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
            content=receipt.content,
            sinch_message_id=receipt.message_id,
            status=MessageStatus.SENT,
            agent=agent or contact.agent,
        )
        transaction.on_commit(lambda: gateway.stored(message))
        # The text is the customer's conversation, not configuration: the entry names the row.
        audit.record(
            operation=AuditOperation.REPLY, instance=contact, detail={"message": message.pk}
        )
    return message


def sent_as(message: Message) -> SentAs | None:
    """How an outbound message went to the channel, read from what was sent; None for inbound."""
    if message.direction != MessageDirection.OUTBOUND:
        return None
    content = message.content if isinstance(message.content, dict) else {}
    if "text_message" in content:
        return SentAs.TEXT_LINK if message.media_url else SentAs.TEXT
    if "media_message" in content:
        return SentAs.MEDIA
    return SentAs.OTHER


def sent_as_notice(message: Message) -> str:
    """What the agent is told about how the message went; "" when it went as written."""
    if sent_as(message) != SentAs.TEXT_LINK:
        return ""
    return _(
        "Sent as a link: %(url)s. Through a messaging service in the EU region, Messenger and "
        "WhatsApp deliver only images as media, so this went as a text message carrying its URL."
    ) % {"url": message.media_url}


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
