"""What each Conversation API trigger means to us: one handler per trigger, in one table.

A handler gets the stored callback and its parsed body and returns a summary of what the
callback says; it raises `CallbackError` when the callback cannot be applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from messaging.choices import Trigger
from messaging.models import Callback

Summary = dict[str, Any]
Handler = Callable[[Callback, dict[str, Any]], Summary]


class CallbackError(Exception):
    """The callback cannot be applied; the message is shown to the administrator."""


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

    @classmethod
    def parse(cls, notification: dict[str, Any]) -> InboundMessage:
        message_id = notification.get("id")
        if not isinstance(message_id, str) or not message_id:
            raise CallbackError("message has no id")
        content = notification.get("contact_message")
        content = content if isinstance(content, dict) else {}
        content_type = next(iter(k for k in content if k != "reply_to"), "")
        text = ""
        text_message = content.get("text_message")
        if isinstance(text_message, dict):
            text = str(text_message.get("text") or "")
        return cls(
            message_id=message_id,
            contact_id=str(notification.get("contact_id") or ""),
            conversation_id=str(notification.get("conversation_id") or ""),
            channel_identity=ChannelIdentity.parse(notification.get("channel_identity")),
            content_type=content_type,
            text=text,
        )


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
        message_id = notification.get(id_key)
        status = notification.get("status")
        if not isinstance(message_id, str) or not message_id:
            raise CallbackError(f"delivery report has no {id_key}")
        if not isinstance(status, str) or not status:
            raise CallbackError("delivery report has no status")
        reason = notification.get("reason")
        reason = reason if isinstance(reason, dict) else {}
        return cls(
            message_id=message_id,
            conversation_id=str(notification.get("conversation_id") or ""),
            contact_id=str(notification.get("contact_id") or ""),
            status=status,
            channel_identity=ChannelIdentity.parse(notification.get("channel_identity")),
            reason_code=str(reason.get("code") or ""),
            reason_description=str(reason.get("description") or ""),
        )


def _notification(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise CallbackError(f"body has no “{key}” object")
    return value


def handle_message_inbound(callback: Callback, payload: dict[str, Any]) -> Summary:
    """Record the inbound message (routing to a queue comes with the queues)."""
    message = InboundMessage.parse(_notification(payload, "message"))
    summary = asdict(message)
    summary["text"] = message.text[:200]
    return summary


def handle_message_delivery(callback: Callback, payload: dict[str, Any]) -> Summary:
    """Record the delivery status of an outbound message."""
    report = DeliveryReport.parse(_notification(payload, "message_delivery_report"), "message_id")
    return asdict(report)


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
    Trigger.CONVERSATION_STOP: _record(
        "conversation_stop_notification",
        "conversation.id",
        "conversation.contact_id",
    ),
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
