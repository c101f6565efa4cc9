"""The Sinch gateway: how replies to chat contacts that came through Sinch leave."""

from __future__ import annotations

from conversations.gateways import GatewayError, OutgoingMessage, SentReceipt
from conversations.models import Contact, Message
from messaging.choices import CallbackStatus, ReasonCode, Trigger
from messaging.models import Callback
from messaging.selectors import app_region
from messaging.sinch.client import SinchError, message_send
from messaging.wake import callback_wake


class SinchGateway:
    """Sends through the Conversation API with the app's outbound credentials."""

    def handles(self, contact: Contact) -> bool:
        return bool(contact.sinch_app_id and contact.sinch_channel and contact.source)

    def send(self, contact: Contact, message: OutgoingMessage) -> SentReceipt:
        properties: dict[str, str] = {}
        if contact.sinch_channel == "SMS" and contact.queue and contact.queue.sms_sender_id:
            properties["SMS_SENDER"] = contact.queue.sms_sender_id
        content = message.content(
            channel=contact.sinch_channel, region=app_region(contact.sinch_app_id)
        )
        try:
            sent = message_send(
                app_id=contact.sinch_app_id,
                channel=contact.sinch_channel,
                identity=contact.source,
                message=content,
                channel_properties=properties or None,
            )
        except SinchError as exc:
            raise GatewayError(str(exc)) from exc
        return SentReceipt(message_id=sent.message_id, content=content)

    def stored(self, message: Message) -> None:
        """A delivery report can overtake the stored reply: apply such reports now."""
        reports = Callback.objects.filter(
            message_id=message.sinch_message_id,
            trigger=Trigger.MESSAGE_DELIVERY,
            status=CallbackStatus.IGNORED,
            reason_code=ReasonCode.OUTBOUND_MESSAGE_UNKNOWN,
        ).update(
            status=CallbackStatus.PENDING,
            reason_code=ReasonCode.NONE,
            claimed_by="",
            claimed_at=None,
        )
        if reports:
            callback_wake()
