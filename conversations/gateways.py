"""How replies leave the contact center: one gateway per kind of contact, registered at start-up.

The conversations app cannot import the messaging app (it sits downstream), so messaging
registers its Sinch gateway in `configurator.extensions.reply_gateways` in its `ready()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from configurator import extensions

if TYPE_CHECKING:
    from conversations.models import Contact, Message


@dataclass(frozen=True)
class WhatsAppTemplate:
    """A WhatsApp message template (its name), in a language, with its parameters' values."""

    name: str
    language: str
    parameters: dict[str, str] = field(default_factory=dict)

    def content(self) -> dict[str, Any]:
        """The Conversation API's `template_message` referring to it (channel-specific)."""
        reference: dict[str, Any] = {"template_id": self.name, "language_code": self.language}
        if self.parameters:
            reference["parameters"] = dict(self.parameters)
        return {"template_message": {"channel_template": {"WHATSAPP": reference}}}


@dataclass(frozen=True)
class OutgoingMessage:
    """A reply or the first message of an outbound chat, as an agent wrote it."""

    text: str = ""
    media_url: str = ""
    template: WhatsAppTemplate | None = None

    def content(self) -> dict[str, Any]:
        """The Conversation API AppMessage for it."""
        if self.template is not None:
            return self.template.content()
        if self.media_url:
            return {"media_message": {"url": self.media_url}}
        return {"text_message": {"text": self.text}}


@dataclass(frozen=True)
class SentReceipt:
    """What the channel said when it accepted a message."""

    message_id: str
    content: dict[str, Any] = field(default_factory=dict)


class GatewayError(Exception):
    """The channel refused or could not be reached; the message is for the person who replied."""


class Gateway(Protocol):
    """Sends replies for the contacts it `handles`, and hears when a sent message was stored."""

    def handles(self, contact: Contact) -> bool: ...

    def send(self, contact: Contact, message: OutgoingMessage) -> SentReceipt: ...

    def stored(self, message: Message) -> None: ...


def gateway_for(contact: Contact) -> Gateway | None:
    """The gateway that can reach this contact's customer, if any."""
    return next((g for g in extensions.reply_gateways if g.handles(contact)), None)
