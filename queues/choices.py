"""Enumerations of the queues app and the one table of chat subchannels."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class QueueChannelType(models.TextChoices):
    """What a queue carries; Sinch feeds chat queues."""

    CHAT = "chat", _("Chat")
    PHONE = "phone", _("Phone")


# Said wherever calls can be configured (queue and integration forms, the API schema, the docs):
# the Conversation API carries messages, never calls, and the project has no telephony source.
CALLS_CONFIGURATION_ONLY = _(
    "Calls never come from the Sinch Conversation API: phone queues and call events are "
    "configuration for a telephony source this project does not have, and no call reaches them. "
    "Test runs (with a phone sample) are the way to try call integrations."
)

# Chat queue addresses are APPID@<subchannel>.sinchconversation.com.
ADDRESS_DOMAIN = "sinchconversation.com"


@dataclass(frozen=True)
class Subchannel:
    """A chat subchannel: its address suffix, its name, and its Conversation API channel."""

    name: str
    label: str
    sinch_channel: str


SUBCHANNELS: tuple[Subchannel, ...] = (
    Subchannel("whatsapp", "WhatsApp", "WHATSAPP"),
    Subchannel("nativechannel", "Sinch Chat", "SINCH_CHAT"),
    Subchannel("facebook", "Messenger", "MESSENGER"),
    Subchannel("viber-bot", "Viber Bot", "VIBER"),
    Subchannel("instagram", "Instagram", "INSTAGRAM"),
    Subchannel("viber", "Viber", "VIBERBM"),
    Subchannel("telegram", "Telegram", "TELEGRAM"),
    Subchannel("line", "LINE", "LINE"),
    Subchannel("rcs", "RCS", "RCS"),
    Subchannel("sms", "SMS", "SMS"),
)
SUBCHANNEL_BY_NAME: dict[str, Subchannel] = {s.name: s for s in SUBCHANNELS}
SUBCHANNEL_BY_SINCH_CHANNEL: dict[str, Subchannel] = {s.sinch_channel: s for s in SUBCHANNELS}

# "whatsapp ← WHATSAPP, …, viber-bot ← VIBER, viber ← VIBERBM": which Conversation API channel
# each subchannel's address receives, for help texts (the admin shows it as a table).
SUBCHANNEL_CHANNELS = ", ".join(f"{s.name} ← {s.sinch_channel}" for s in SUBCHANNELS)
