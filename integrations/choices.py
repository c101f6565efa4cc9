"""Enumerations of the integrations app and the table of events each conversation type produces."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db import models
from django.utils.translation import gettext_lazy as _

from conversations.choices import ChannelType, Direction, Event


class IntegrationChannelType(models.TextChoices):
    """Which conversations an integration is for; asked first when adding one."""

    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat")
    EMAIL = "email", _("Email")
    MULTI = "multi", _("Multi-channel")


class IntegrationDirection(models.TextChoices):
    """Conversation direction an integration is used for."""

    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")
    BOTH = "both", _("Both")


class AuthenticationType(models.TextChoices):
    """Kinds of authentication entry, told apart by the authentication ID (seed 003, table 2)."""

    BASIC = "basic", _("Basic")
    DIGEST = "digest", _("Digest")
    HEADER = "header", _("Header value")
    OAUTH = "oauth", _("OAuth client credentials")


class HttpMethod(models.TextChoices):
    """Methods a request may use; only POST, PUT and PATCH carry a body."""

    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"


METHODS_WITH_BODY = frozenset({HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH})
ECHO_ENDPOINT = "edi://echo"

# A conversation type is (channel type, direction); the events each produces. The seed's table
# lost its marks, so this one is ours: queued and allocated conversations come in; outbound ones
# are connected to an external party, so they are never received, queued, allocated or forwarded,
# and an outbound chat cannot be rejected by its recipient. Email is inbound only.
ALL_EVENTS: tuple[str, ...] = tuple(Event.values)
SUPPORTED_EVENTS: dict[tuple[str, str], tuple[str, ...]] = {
    (ChannelType.CHAT, Direction.INBOUND): ALL_EVENTS,
    (ChannelType.CHAT, Direction.OUTBOUND): (
        Event.ACCEPTED,
        Event.TRANSFERRED,
        Event.ENDED,
        Event.ABANDONED,
    ),
    (ChannelType.PHONE, Direction.INBOUND): ALL_EVENTS,
    (ChannelType.PHONE, Direction.OUTBOUND): (
        Event.ACCEPTED,
        Event.REJECTED,
        Event.TRANSFERRED,
        Event.ENDED,
        Event.ABANDONED,
    ),
    (ChannelType.EMAIL, Direction.INBOUND): ALL_EVENTS,
}
CONVERSATION_TYPE_LABELS: dict[tuple[str, str], str] = {
    (ChannelType.CHAT, Direction.INBOUND): "chats in",
    (ChannelType.CHAT, Direction.OUTBOUND): "chats out",
    (ChannelType.PHONE, Direction.INBOUND): "calls in",
    (ChannelType.PHONE, Direction.OUTBOUND): "calls out",
    (ChannelType.EMAIL, Direction.INBOUND): "emails in",
}
# Queue channel types each integration channel type may be scoped to.
QUEUE_CHANNEL_TYPES: dict[str, frozenset[str]] = {
    IntegrationChannelType.PHONE: frozenset({ChannelType.PHONE}),
    IntegrationChannelType.CHAT: frozenset({ChannelType.CHAT}),
    IntegrationChannelType.EMAIL: frozenset({ChannelType.EMAIL}),
    IntegrationChannelType.MULTI: frozenset(ChannelType.values),
}


def conversation_channels(channel_type: str) -> tuple[str, ...]:
    """Conversation channel types an integration of `channel_type` applies to."""
    if channel_type == IntegrationChannelType.MULTI:
        return tuple(ChannelType.values)
    return (channel_type,)


def conversation_directions(direction: str) -> tuple[str, ...]:
    """Conversation directions an integration of `direction` applies to."""
    if direction == IntegrationDirection.BOTH:
        return tuple(Direction.values)
    return (direction,)


def conversation_types(channel_type: str, direction: str) -> list[tuple[str, str]]:
    """The (channel, direction) conversation types an integration can fire for."""
    return [
        (channel, way)
        for channel in conversation_channels(channel_type)
        for way in conversation_directions(direction)
        if (channel, way) in SUPPORTED_EVENTS
    ]


def supported_events(types: Iterable[tuple[str, str]]) -> set[str]:
    """Events at least one of the conversation types produces."""
    return {event for kind in types for event in SUPPORTED_EVENTS.get(kind, ())}


class DeliveryMode(models.TextChoices):
    """Whether the lifecycle waited for the call (it may steer routing) or went on at once."""

    BLOCKING = "blocking", _("Blocking")
    BACKGROUND = "background", _("Background")


class DeliveryStatus(models.TextChoices):
    """Where one attempt of one integration on one event stands."""

    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SUCCEEDED = "succeeded", _("Succeeded")
    RETRYING = "retrying", _("Failed, retry scheduled")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


# An authentication entry's ID tells its type: `basic:<user>`, `digest:<user>`, `oauth:<client>`.
PREFIXED_ENTRY_RE = re.compile(r"^(?P<type>basic|digest|oauth):(?P<name>[^\s:]{1,150})$")


def authentication_type(authentication_id: str) -> str:
    """The entry's type, told by its ID: `basic:<user>`, `digest:<user>`, `oauth:<client>`."""
    match = PREFIXED_ENTRY_RE.match(authentication_id)
    return match["type"] if match else AuthenticationType.HEADER
