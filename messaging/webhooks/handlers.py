"""What each Conversation API trigger means to us: one handler per trigger, in one table.

A handler gets the stored callback and its parsed body and returns a summary of what the
callback says; it raises `CallbackError` when the callback cannot be applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from conversations import lifecycle, outbound, selectors, services
from conversations import messages as conversation_messages
from conversations.choices import MessageKind, MessageStatus
from conversations.models import Contact, Message
from conversations.services import InboundThread, IncomingMessage
from messaging.choices import ReasonCode, Trigger
from messaging.models import Callback
from messaging.selectors import callbacks_held
from queues import routing
from queues.choices import QueueChannelType

Summary = dict[str, Any]
Handler = Callable[[Callback, dict[str, Any]], Summary]


class CallbackError(Exception):
    """The callback cannot be applied; the message is shown to the administrator.

    `code` is what the code (the home page's unrouted count) may decide on later, if anything.
    """

    def __init__(self, reason: str, *, code: str = ReasonCode.NONE) -> None:
        super().__init__(reason)
        self.code = code


class CallbackIgnored(Exception):  # an outcome, not a failure: no "Error" suffix
    """The callback is about something that is not ours; the message says what.

    `code` is what the code may decide on later (a report waiting for its message), if anything.
    """

    def __init__(self, reason: str, *, code: str = ReasonCode.NONE) -> None:
        super().__init__(reason)
        self.code = code


def _column_length(model: Any, field: str) -> int:
    return int(model._meta.get_field(field).max_length)


# The columns Sinch's ids and identities are stored in: a longer one fails the callback with
# the field's name rather than with a database error.
ID_LENGTH = _column_length(Message, "sinch_message_id")
CONTACT_ID_LENGTH = _column_length(Contact, "sinch_contact_id")
CONVERSATION_ID_LENGTH = _column_length(Contact, "sinch_conversation_id")
IDENTITY_LENGTH = _column_length(Contact, "source")


def _bounded(value: str, name: str, length: int) -> str:
    if len(value) > length:
        raise CallbackError(f"{name} is longer than {length} characters")
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _string_field(value: Any, name: str, length: int | None = None) -> str:
    """A Sinch id or status: a string, "" when absent; another JSON type fails the callback.

    The error names the field and what it was instead. Sinch's ids are strings, and the
    webhook's ingest takes only strings as ids (for the callback's dedupe key), so a number is
    not taken as its text here either.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CallbackError(f"{name} is not a string but {_json_kind(value)}")
    return value if length is None else _bounded(value, name, length)


def _time(value: Any) -> datetime | None:
    """A Sinch time (ISO 8601, UTC when no offset is given); None when it is not a time."""
    try:
        parsed = parse_datetime(str(value or ""))
    except ValueError:  # well formed but impossible, such as month 13
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


@dataclass(frozen=True)
class ChannelIdentity:
    """Who a message came from or went to, on which channel."""

    channel: str
    identity: str
    app_id: str

    @classmethod
    def parse(cls, value: Any) -> ChannelIdentity:
        value = value if isinstance(value, dict) else {}
        return cls(
            channel=str(value.get("channel") or ""),
            identity=str(value.get("identity") or ""),
            app_id=str(value.get("app_id") or ""),
        )


@dataclass(frozen=True)
class InboundMessage:
    """A MESSAGE_INBOUND notification (sinch.md 2.3)."""

    message_id: str
    contact_id: str
    conversation_id: str
    channel_identity: ChannelIdentity
    content_type: str
    text: str
    media_url: str
    content: dict[str, Any]
    accept_time: str

    @classmethod
    def parse(cls, notification: dict[str, Any]) -> InboundMessage:
        message_id = _string_field(notification.get("id"), "message.id", ID_LENGTH)
        if not message_id:
            raise CallbackError("message has no id")
        content = notification.get("contact_message")
        content = content if isinstance(content, dict) else {}
        content_type = next(iter(k for k in content if k != "reply_to"), "")
        body = content.get(content_type)
        body = body if isinstance(body, dict) else {}
        identity = ChannelIdentity.parse(notification.get("channel_identity"))
        _bounded(identity.identity, "message.channel_identity.identity", IDENTITY_LENGTH)
        return cls(
            message_id=message_id,
            contact_id=_string_field(
                notification.get("contact_id"), "message.contact_id", CONTACT_ID_LENGTH
            ),
            conversation_id=_string_field(
                notification.get("conversation_id"),
                "message.conversation_id",
                CONVERSATION_ID_LENGTH,
            ),
            channel_identity=identity,
            content_type=content_type,
            text=_readable_text(content_type, body),
            media_url=str(body.get("url") or "") if content_type.startswith("media") else "",
            content=content,
            accept_time=str(notification.get("accept_time") or ""),
        )

    @property
    def kind(self) -> str:
        if self.content_type == "text_message":
            return MessageKind.TEXT
        if self.media_url:
            return MessageKind.MEDIA
        return MessageKind.OTHER


def _readable_text(content_type: str, body: dict[str, Any]) -> str:
    """What an agent should read for a message that is not plain text."""
    if content_type == "text_message":
        return str(body.get("text") or "")
    if content_type == "media_card_message":
        return str(body.get("caption") or "")
    if content_type == "location_message":
        point = body.get("coordinates")
        point = point if isinstance(point, dict) else {}
        title = body.get("title") or body.get("label") or "Location"
        return f"{title} ({point.get('latitude')}, {point.get('longitude')})"
    if content_type == "choice_response_message":
        return f"Chose: {body.get('postback_data') or body.get('message_id') or ''}".strip()
    if content_type == "fallback_message":
        return str(body.get("raw_message") or "")[:2000]
    return ""


@dataclass(frozen=True)
class DeliveryReport:
    """A MESSAGE_DELIVERY or EVENT_DELIVERY notification."""

    message_id: str
    conversation_id: str
    contact_id: str
    status: str
    channel_identity: ChannelIdentity
    reason_code: str
    reason_description: str

    @classmethod
    def parse(cls, notification: dict[str, Any], id_key: str) -> DeliveryReport:
        message_id = _string_field(notification.get(id_key), id_key, ID_LENGTH)
        if not message_id:
            raise CallbackError(f"delivery report has no {id_key}")
        status = _string_field(notification.get("status"), "status")
        if not status:
            raise CallbackError("delivery report has no status")
        reason = notification.get("reason")
        reason = reason if isinstance(reason, dict) else {}
        return cls(
            message_id=message_id,
            conversation_id=_string_field(notification.get("conversation_id"), "conversation_id"),
            contact_id=_string_field(notification.get("contact_id"), "contact_id"),
            status=status,
            channel_identity=ChannelIdentity.parse(notification.get("channel_identity")),
            reason_code=str(reason.get("code") or ""),
            reason_description=str(reason.get("description") or ""),
        )


def held_elsewhere(callback: Callback) -> bool:
    """Whether another callback with the same notification is being processed (a live claim)."""
    return callbacks_held(
        service_ids=[callback.service_id],
        dedupe_keys=[callback.dedupe_key],
        excluding=[callback.pk],
    ).exists()


def _notification(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise CallbackError(f"body has no “{key}” object")
    return value


def handle_message_inbound(callback: Callback, payload: dict[str, Any]) -> Summary:
    """Route the customer's message by app and channel to a queue; open or continue a contact."""
    message = InboundMessage.parse(_notification(payload, "message"))
    identity = message.channel_identity
    # The callback's own app, which processing checked the receiving service holds.
    app_id = callback.app_id.upper()
    incoming = IncomingMessage(
        sinch_message_id=message.message_id,
        kind=message.kind,
        text=message.text,
        media_url=message.media_url,
        content=message.content,
        received_at=_time(message.accept_time),
    )
    # A reply to an outbound chat joins it, whether or not a queue routes the address.
    joined = None
    if not callback.simulated:
        joined = outbound.outbound_reply_join(
            app_id=app_id,
            channel=identity.channel.upper(),
            identity=identity.identity,
            sinch_conversation_id=message.conversation_id,
            sinch_contact_id=message.contact_id,
            message=incoming,
        )
    if joined is not None:
        return {
            **_inbound_summary(message),
            "contact": joined.contact.pk,
            "new_contact": False,
            "outbound_reply": True,
            "already_recorded": joined.already_recorded,
        }
    address = routing.address_for_channel(app_id, identity.channel)
    if address is None:
        raise CallbackError(
            f"no queue for channel {identity.channel or '(none)'} of app {app_id or '(none)'}: "
            "it has no chat subchannel",
            code=ReasonCode.NO_QUEUE,
        )
    routed = routing.route(address)
    if routed is None or routed.queue.channel_type != QueueChannelType.CHAT:
        raise CallbackError(f"no queue for address {address}", code=ReasonCode.NO_QUEUE)
    result = services.inbound_message_receive(
        thread=InboundThread(
            queue=routed.queue,
            address=address,
            app_id=app_id,
            sinch_channel=identity.channel.upper(),
            channel_sub_type=routed.subchannel,
            identity=identity.identity,
            sinch_contact_id=message.contact_id,
            sinch_conversation_id=message.conversation_id,
            simulated=callback.simulated,
        ),
        message=incoming,
        # A conversation left `received` by an earlier attempt (a worker that stopped, a
        # passing error, "process again") is finished, unless a worker is at it right now.
        resume_stalled=lambda: not held_elsewhere(callback),
    )
    return {
        **_inbound_summary(message),
        "address": address,
        "queue": routed.queue.name,
        "contact": result.contact.pk,
        "new_contact": result.new_contact,
        "already_recorded": result.already_recorded,
    }


def _inbound_summary(message: InboundMessage) -> Summary:
    return {
        "message_id": message.message_id,
        "contact_id": message.contact_id,
        "conversation_id": message.conversation_id,
        "channel_identity": asdict(message.channel_identity),
        "content_type": message.content_type,
        "text": message.text[:200],
    }


# A delivery report for a message not (yet) stored is ignored with this reason and the code
# OUTBOUND_MESSAGE_UNKNOWN; the gateway applies such reports again once the reply is stored (a
# report can overtake it).
UNKNOWN_MESSAGE_REASON = "no outbound message with this id"

# Sinch's delivery statuses and ours; QUEUED is documented but never sent as a callback.
DELIVERY_STATUSES = {
    "QUEUED_ON_CHANNEL": MessageStatus.QUEUED_ON_CHANNEL,
    "DELIVERED": MessageStatus.DELIVERED,
    "READ": MessageStatus.READ,
    "FAILED": MessageStatus.FAILED,
    "SWITCHING_CHANNEL": MessageStatus.SWITCHING_CHANNEL,
}


def handle_message_delivery(callback: Callback, payload: dict[str, Any]) -> Summary:
    """Apply the delivery status to the outbound message it reports on."""
    report = DeliveryReport.parse(_notification(payload, "message_delivery_report"), "message_id")
    status = DELIVERY_STATUSES.get(report.status)
    if status is None:
        raise CallbackIgnored(f"delivery status {report.status} is not one Sinch reports on")
    reason = ""
    if report.reason_code:
        reason = f"{report.reason_code}: {report.reason_description}".rstrip(": ")
    at = _time(payload.get("event_time") or payload.get("accepted_time"))
    message = conversation_messages.message_status_update(
        sinch_message_id=report.message_id,
        app_id=callback.app_id.upper(),
        status=status,
        reason=reason,
        at=at,
        sinch_conversation_id=report.conversation_id[:CONVERSATION_ID_LENGTH],
    )
    if message is None:
        raise CallbackIgnored(UNKNOWN_MESSAGE_REASON, code=ReasonCode.OUTBOUND_MESSAGE_UNKNOWN)
    summary = asdict(report)
    summary.update(contact=message.contact_id, message_status=message.status)
    return summary


def handle_conversation_stop(callback: Callback, payload: dict[str, Any]) -> Summary:
    """The customer's Sinch conversation stopped: a contact no agent accepted is Abandoned."""
    notification = _notification(payload, "conversation_stop_notification")
    conversation = notification.get("conversation")
    conversation = conversation if isinstance(conversation, dict) else {}
    conversation_id = str(conversation.get("id") or "")
    if not conversation_id:
        raise CallbackError("conversation stop has no conversation id")
    outcome: dict[str, str] = {}
    contacts = selectors.open_contacts_in_sinch_conversation(
        conversation_id, app_id=callback.app_id.upper()
    )
    for contact in contacts:
        if lifecycle.phase(contact) is lifecycle.Phase.CONNECTED:
            outcome[contact.pk] = "accepted by an agent; left for the agent to end"
            continue
        services.contact_abandon(
            contact=contact, by="Sinch", reason="The customer's Sinch conversation stopped"
        )
        outcome[contact.pk] = "abandoned"
    return {
        "conversation.id": conversation_id,
        "conversation.contact_id": conversation.get("contact_id"),
        "contacts": outcome or "no open contact in this conversation",
    }


def handle_event_delivery(callback: Callback, payload: dict[str, Any]) -> Summary:
    """Record the delivery status of an outbound event."""
    report = DeliveryReport.parse(_notification(payload, "event_delivery_report"), "event_id")
    return asdict(report)


def handle_event_inbound(callback: Callback, payload: dict[str, Any]) -> Summary:
    """Record an inbound event (typing indicator, reaction, ...)."""
    event = _notification(payload, "event")
    kind = ""
    for key in ("contact_event", "contact_message_event"):
        value = event.get(key)
        if isinstance(value, dict) and value:
            kind = next(iter(value))
    return {
        "event_id": str(event.get("id") or ""),
        "contact_id": str(event.get("contact_id") or ""),
        "conversation_id": str(event.get("conversation_id") or ""),
        "channel_identity": asdict(ChannelIdentity.parse(event.get("channel_identity"))),
        "event": kind,
    }


def _record(key: str, *fields: str) -> Handler:
    """A handler that records the named fields of a simple notification."""

    def handle(callback: Callback, payload: dict[str, Any]) -> Summary:
        notification = _notification(payload, key)
        summary: Summary = {}
        for name in fields:
            value: Any = notification
            for part in name.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value is not None:
                summary[name] = value
        return summary

    handle.__doc__ = f"Record {', '.join(fields)} of “{key}”."
    return handle


HANDLERS: dict[str, Handler] = {
    Trigger.MESSAGE_INBOUND: handle_message_inbound,
    Trigger.MESSAGE_DELIVERY: handle_message_delivery,
    Trigger.EVENT_INBOUND: handle_event_inbound,
    Trigger.EVENT_DELIVERY: handle_event_delivery,
    Trigger.MESSAGE_SUBMIT: _record(
        "message_submit_notification",
        "message_id",
        "conversation_id",
        "contact_id",
        "channel_identity",
    ),
    Trigger.CONVERSATION_START: _record(
        "conversation_start_notification",
        "conversation.id",
        "conversation.contact_id",
        "conversation.active_channel",
    ),
    Trigger.CONVERSATION_STOP: handle_conversation_stop,
    Trigger.CONVERSATION_DELETE: _record(
        "conversation_delete_notification",
        "conversation.id",
        "conversation.contact_id",
    ),
    Trigger.CONTACT_CREATE: _record("contact_create_notification", "contact.id"),
    Trigger.CONTACT_UPDATE: _record("contact_update_notification", "contact.id"),
    Trigger.CONTACT_DELETE: _record("contact_delete_notification", "contact.id"),
    Trigger.CONTACT_MERGE: _record(
        "contact_merge_notification", "preserved_contact.id", "deleted_contact.id"
    ),
    Trigger.OPT_IN: _record("opt_in_notification", "contact_id", "channel", "identity", "status"),
    Trigger.OPT_OUT: _record("opt_out_notification", "contact_id", "channel", "identity", "status"),
    Trigger.CAPABILITY: _record(
        "capability_notification", "contact_id", "channel", "identity", "capability_status"
    ),
    Trigger.CHANNEL_EVENT: _record(
        "channel_event_notification", "channel", "event_type", "additional_data"
    ),
}

# Stored and shown, but nothing in a contact center acts on them.
IGNORED_TRIGGERS: dict[str, str] = {
    Trigger.UNSUPPORTED: "the channel sent something the Conversation API does not support",
    Trigger.SMART_CONVERSATION: "Smart Conversations analysis is not used here",
    Trigger.MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION: (
        "Smart Conversations redaction is not used here"
    ),
    Trigger.RECORD_NOTIFICATION: "record notifications are not used here",
    Trigger.CONTACT_IDENTITIES_DUPLICATION: "duplicate contact identities are not used here",
}

# Handlers that commit in steps of their own and run with no transaction open: a new
# conversation's Received is committed before its blocking integrations are called.
STEPWISE_TRIGGERS: frozenset[str] = frozenset({Trigger.MESSAGE_INBOUND})

# Handlers that open, continue or change conversations: they act only on an app of the
# messaging service that received the callback.
ACTING_TRIGGERS: frozenset[str] = frozenset(
    {Trigger.MESSAGE_INBOUND, Trigger.MESSAGE_DELIVERY, Trigger.CONVERSATION_STOP}
)
