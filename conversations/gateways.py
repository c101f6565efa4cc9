"""How replies leave the contact center: one gateway per kind of contact, registered at start-up.

The conversations app cannot import the messaging app (it sits downstream), so messaging
registers its Sinch gateway in `configurator.extensions.reply_gateways` in its `ready()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from django.conf import settings

from configurator import extensions
from conversations.choices import SentAs

if TYPE_CHECKING:
    from conversations.models import Contact, Message


# Seed 000: under Facebook's privacy rules for Europe, Messenger and WhatsApp deliver rich content
# through the EU region only when it is an image; other media (audio, video, documents) go as a
# text message carrying the URL, unless settings.SINCH_EU_MEDIA_AS_TEXT turns the rule off.
EU_REGION = "eu"
IMAGE_ONLY_MEDIA_CHANNELS = frozenset({"MESSENGER", "WHATSAPP"})
# Decided by the URL path's extension when no content type is known: a fixed list, so that the
# answer does not depend on the machine's mime.types.
IMAGE_EXTENSIONS = frozenset(
    {".avif", ".bmp", ".gif", ".heic", ".heif", ".jpeg", ".jpg", ".png", ".svg", ".tif", ".tiff"}
    | {".webp"}
)


def media_is_image(*, url: str, media_type: str = "") -> bool:
    """Whether media is an image: its content type when known, else its URL path's extension."""
    if media_type.strip():
        return media_type.split(";")[0].strip().lower().startswith("image/")
    try:
        path = urlsplit(url).path
    except ValueError:
        return False
    return PurePosixPath(path).suffix.lower() in IMAGE_EXTENSIONS


def media_goes_as_link(*, channel: str, region: str, url: str, media_type: str = "") -> bool:
    """Whether media for `channel` through a service of `region` must go as a text link."""
    return (
        bool(settings.SINCH_EU_MEDIA_AS_TEXT)
        and region.lower() == EU_REGION
        and channel.upper() in IMAGE_ONLY_MEDIA_CHANNELS
        and not media_is_image(url=url, media_type=media_type)
    )


@dataclass(frozen=True)
class AppMessage:
    """The Conversation API message for an outgoing message, and how it goes."""

    content: dict[str, Any]
    sent_as: SentAs


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
    """A reply or the first message of an outbound chat, as an agent wrote it.

    `media_type` is the media's content type when the sender knows it (else the URL decides).
    """

    text: str = ""
    media_url: str = ""
    media_type: str = ""
    template: WhatsAppTemplate | None = None

    def app_message(self, *, channel: str, region: str) -> AppMessage:
        """The AppMessage for `channel` through a service of `region` (seed 000's rule)."""
        if self.template is not None:
            return AppMessage(self.template.content(), SentAs.OTHER)
        if not self.media_url:
            return AppMessage({"text_message": {"text": self.text}}, SentAs.TEXT)
        if media_goes_as_link(
            channel=channel, region=region, url=self.media_url, media_type=self.media_type
        ):
            text = f"{self.text.strip()}\n{self.media_url}" if self.text.strip() else self.media_url
            return AppMessage({"text_message": {"text": text}}, SentAs.TEXT_LINK)
        return AppMessage({"media_message": {"url": self.media_url}}, SentAs.MEDIA)

    def content(self, *, channel: str, region: str) -> dict[str, Any]:
        """The Conversation API AppMessage for it (`app_message(...).content`)."""
        return self.app_message(channel=channel, region=region).content


@dataclass(frozen=True)
class SentReceipt:
    """What the channel said when it accepted a message, and the message as it was sent."""

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
