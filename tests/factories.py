"""Factories for the test suite; they go through the same services as the admin and API."""

from __future__ import annotations

import itertools
from typing import Any

from conversations import services as conversation_services
from conversations.models import Agent, Contact, Message
from conversations.services import InboundThread, IncomingMessage
from integrations import services as integration_services
from integrations.models import Integration
from integrations.validation import CleanAuthentication as IntegrationCleanAuthentication
from messaging import services
from messaging.models import MessagingService
from messaging.validation import CleanAuthentication
from queues import services as queue_services
from queues.models import Queue
from queues.validation import CleanAddress, parse_chat_address
from tests.sinch import WEBHOOK_SECRET

_counter = itertools.count(1)

ALL_HANDLED_TRIGGERS = [
    "MESSAGE_INBOUND",
    "MESSAGE_DELIVERY",
    "MESSAGE_SUBMIT",
    "EVENT_INBOUND",
    "EVENT_DELIVERY",
    "CONVERSATION_START",
    "CONVERSATION_STOP",
    "CONVERSATION_DELETE",
    "CONTACT_CREATE",
    "CONTACT_DELETE",
    "CONTACT_MERGE",
    "CONTACT_UPDATE",
    "CONTACT_IDENTITIES_DUPLICATION",
    "CAPABILITY",
    "OPT_IN",
    "OPT_OUT",
    "CHANNEL_EVENT",
    "UNSUPPORTED",
    "SMART_CONVERSATION",
    "MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION",
    "RECORD_NOTIFICATION",
]


def outbound(
    app_id: str,
    key_id: str = "3f1c2a9e-7d1b-4c51-9a43-2b8e6f0d5c11",
    secret: str = "access-key-secret",
) -> CleanAuthentication:
    """An outbound entry as validation returns it."""
    return CleanAuthentication(
        direction="outbound",
        authentication_id=f"{key_id}@{app_id}",
        key_id=key_id,
        app_id=app_id,
        secret=secret,
        triggers=[],
    )


def inbound(secret: str = WEBHOOK_SECRET, triggers: list[str] | None = None) -> CleanAuthentication:
    """The webhook entry as validation returns it."""
    return CleanAuthentication(
        direction="inbound",
        authentication_id="webhook",
        key_id="",
        app_id="",
        secret=secret,
        triggers=sorted(triggers or ALL_HANDLED_TRIGGERS),
    )


def make_service(**overrides: Any) -> MessagingService:
    """A Sinch messaging service with one app and the webhook entry."""
    n = next(_counter)
    return services.messaging_service_create(
        name=overrides.get("name", f"Sinch EU {n}"),
        service_connection=overrides.get(
            "service_connection",
            "https://eu.conversation.api.sinch.com/v1/projects/e2df3a34-a71b-4448-9db5-a8d2baad28e4/messages:send",
        ),
        type="sinchconversation",
        authentications=overrides.get(
            "authentications",
            [
                outbound(overrides.get("app_id", f"01E4556565565ERKY{n:02d}")),
                inbound(triggers=overrides.get("triggers")),
            ],
        ),
    )


def make_queue(
    name: str | None = None,
    addresses: list[str] | None = None,
    **fields: Any,
) -> Queue:
    """A chat queue whose addresses are given in short or long form (no directory check)."""
    n = next(_counter)
    channel_type = fields.pop("channel_type", "chat")
    clean = [
        parse_chat_address(a)[0] if channel_type == "chat" else CleanAddress(address=a)
        for a in (addresses if addresses is not None else [f"01E4556565565ERKY{n:02d}@whatsapp"])
    ]
    return queue_services.queue_create(
        name=name or f"Queue {n}", addresses=clean, channel_type=channel_type, **fields
    )


def make_agent(name: str | None = None, queues: list[Queue] | None = None, **fields: Any) -> Agent:
    """An agent serving the given queues."""
    n = next(_counter)
    agent = Agent.objects.create(
        name=name or f"Agent {n}", number=fields.pop("number", f"{1000 + n}"), **fields
    )
    agent.queues.set(queues or [])
    return agent


def make_contact(
    queue: Queue,
    *,
    identity: str = "46701234567",
    conversation_id: str | None = None,
    text: str = "Hello",
    message_id: str | None = None,
) -> Contact:
    """An inbound WhatsApp contact, queued in `queue` the way a Sinch message would queue it."""
    n = next(_counter)
    address = queue.addresses.all()[0]
    result = conversation_services.inbound_message_receive(
        thread=InboundThread(
            queue=queue,
            address=address.address,
            app_id=address.app_id,
            sinch_channel="WHATSAPP",
            channel_sub_type=address.subchannel or "whatsapp",
            identity=identity,
            sinch_contact_id=f"01CONTACT{n:017d}",
            sinch_conversation_id=conversation_id or f"01CONVERSATION{n:012d}",
        ),
        message=IncomingMessage(
            sinch_message_id=message_id or f"01HMSGIN{n:018d}", kind="text", text=text
        ),
    )
    return result.contact


def make_outbound_message(contact: Contact, sinch_message_id: str, text: str = "Hi") -> Message:
    """A reply as if it had been sent through Sinch."""
    return Message.objects.create(
        contact=contact,
        direction="outbound",
        kind="text",
        text=text,
        sinch_message_id=sinch_message_id,
        status="sent",
    )


def make_integration(
    name: str | None = None,
    *,
    queues: list[Queue] | None = None,
    authentications: dict[str, str] | None = None,
    **fields: Any,
) -> Integration:
    """An integration saved through the service (checked like admin input is)."""
    values: dict[str, Any] = {
        "name": name or f"Integration {next(_counter)}",
        "channel_type": "chat",
        "endpoint_url": "https://hooks.example.com/events",
        "direction": "inbound",
        "events": ["ended"],
        "configuration": {"request": {"method": "POST", "body": {"event": "{event}"}}},
    }
    values.update(fields)
    return integration_services.integration_save(
        integration=Integration(**values),
        queues=queues or [],
        authentications=[
            IntegrationCleanAuthentication(authentication_id=key, secret=secret)
            for key, secret in (authentications or {}).items()
        ],
    )
