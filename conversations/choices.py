"""Enumerations of the conversations app; wire values are lower-case words (DESIGN.md)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ChannelType(models.TextChoices):
    """The kind of conversation."""

    CHAT = "chat", _("Chat")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")


class Direction(models.TextChoices):
    """Who started the conversation."""

    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class Event(models.TextChoices):
    """Lifecycle events; a contact's state is the word of its last event."""

    RECEIVED = "received", _("Received")
    QUEUED = "queued", _("Queued")
    ALLOCATED = "allocated", _("Allocated")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    TRANSFERRED = "transferred", _("Transferred")
    FORWARDED = "forwarded", _("Forwarded")
    ENDED = "ended", _("Ended")
    ABANDONED = "abandoned", _("Abandoned")


class MessageDirection(models.TextChoices):
    """Whether a message came from the customer or went to them."""

    INBOUND = "inbound", _("From the customer")
    OUTBOUND = "outbound", _("To the customer")


class MessageKind(models.TextChoices):
    """What a message holds."""

    TEXT = "text", _("Text")
    MEDIA = "media", _("Media")
    OTHER = "other", _("Other")


class MessageStatus(models.TextChoices):
    """Delivery status: `received` for inbound messages, Sinch's delivery reports for outbound."""

    RECEIVED = "received", _("Received")
    SENT = "sent", _("Accepted by Sinch")
    QUEUED_ON_CHANNEL = "queued_on_channel", _("Queued on channel")
    SWITCHING_CHANNEL = "switching_channel", _("Switching channel")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")


class SentAs(models.TextChoices):
    """How an outbound message went to the channel (`text_link`: media sent as its URL)."""

    TEXT = "text", _("Text")
    MEDIA = "media", _("Media")
    TEXT_LINK = "text_link", _("Text carrying the media URL")
    OTHER = "other", _("Other")
