"""Factories for the test suite; they go through the same services as the admin and API."""

from __future__ import annotations

import itertools
from typing import Any

from messaging import services
from messaging.models import MessagingService
from messaging.validation import CleanAuthentication
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
