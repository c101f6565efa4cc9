"""What an outbound chat's start must satisfy before anything is sent, every problem by field.

`conversations.outbound.chat_start` calls `start_checked`; the reply service asks
`whatsapp_window_problem` too, so that WhatsApp's 24-hour window is one rule for both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.translation import gettext as _

from configurator.limits import REPLY_MAX_CHARS, text_length_problem
from conversations.choices import ChannelType, Direction, Event, MessageDirection
from conversations.gateways import OutgoingMessage, WhatsAppTemplate
from conversations.identities import canonical_identity, identity_problem
from conversations.models import Agent, Contact, Message
from queues.choices import SUBCHANNEL_BY_SINCH_CHANNEL, SUBCHANNELS
from queues.models import Queue
from queues.validation import chat_address, sinch_apps, sms_sender_missing

WHATSAPP = "WHATSAPP"
SMS = "SMS"
# WhatsApp's customer-care window: free text only this long after the customer's last message.
WHATSAPP_WINDOW = timedelta(hours=24)
TEMPLATE_NAME_MAX_CHARS = 512
TEMPLATE_MAX_PARAMETERS = 100
TEMPLATE_PARAMETER_MAX_CHARS = 1024
# WhatsApp's template languages are written with an underscore: en, en_US, pt_BR, zh_Hant_HK.
TEMPLATE_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9]{2,8}){0,2}$")


def start_checked(
    *,
    agent: Agent,
    app_id: str,
    channel: str,
    identity: str,
    text: str,
    media_url: str,
    template: WhatsAppTemplate | None,
    queue: Queue | None,
) -> tuple[Contact, OutgoingMessage]:
    """The unsaved contact and the message, or every problem of the request by field."""
    errors: dict[str, list[str]] = {}

    def fault(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    app_id = (app_id or "").strip().upper()
    channel = (channel or "").strip().upper()
    identity = (identity or "").strip()
    app = sinch_apps([app_id]).get(app_id) if app_id else None
    if not app_id:
        fault("app_id", _("Give the Sinch app ID the chat is sent from."))
    elif app is None:
        fault(
            "app_id",
            _(
                "No messaging service holds app %(app)s: add its outbound key (KEYID@APPID) to "
                "a messaging service first."
            )
            % {"app": app_id},
        )
    subchannel = SUBCHANNEL_BY_SINCH_CHANNEL.get(channel)
    if subchannel is None:
        fault(
            "channel",
            _("Choose one of the channels %(channels)s.")
            % {"channels": ", ".join(s.sinch_channel for s in SUBCHANNELS)},
        )
    if not identity:
        fault("identity", _("Give the customer's identity on the channel (a phone number, …)."))
    elif problem := identity_problem(channel, identity):
        fault("identity", problem)
    else:
        identity = canonical_identity(channel, identity)
    _check_content(fault, text=text, media_url=media_url, template=template, channel=channel)
    if queue is not None and subchannel is not None and app_id:
        address = chat_address(app_id, subchannel.name)
        if not queue.addresses.filter(address=address).exists():
            fault(
                "queue",
                _(
                    "Queue %(queue)s has no address %(address)s: choose a queue of this app "
                    "and channel, or none for a direct chat."
                )
                % {"queue": queue.name, "address": address},
            )
    if (
        app is not None
        and channel == SMS
        and sms_sender_missing(
            region=app.region, sms_sender_id=queue.sms_sender_id if queue else ""
        )
    ):
        # The gateway takes SMS_SENDER from the contact's queue: a direct chat has none.
        fault(
            "queue",
            _(
                "SMS through a US messaging service needs an SMS sender ID: choose a queue of "
                "this app's SMS address with an SMS sender ID."
            ),
        )
    contact = Contact(
        channel_type=ChannelType.CHAT,
        channel_sub_type=subchannel.name if subchannel else "",
        direction=Direction.OUTBOUND,
        priority=queue.default_priority if queue else 100,
        queue=queue,
        agent=agent,
        state=Event.ALLOCATED,
        source=identity,
        destination=chat_address(app_id, subchannel.name) if subchannel and app_id else "",
        sinch_app_id=app_id,
        sinch_channel=channel,
        thread_key=thread_key(channel, identity),
    )
    if not errors and channel and identity:
        already = open_elsewhere(contact)
        if already:
            fault("identity", already)
    if not errors and template is None:
        closed = whatsapp_window_problem(app_id=app_id, channel=channel, identity=identity)
        if closed:
            fault("template", closed)
    if errors:
        raise ValidationError(errors)
    return contact, OutgoingMessage(text=text, media_url=media_url, template=template)


def _check_content(
    fault: Callable[[str, str], None],
    *,
    text: str,
    media_url: str,
    template: WhatsAppTemplate | None,
    channel: str,
) -> None:
    """The first message: a text or a media URL, or (on WhatsApp) a template instead."""
    if template is not None:
        if text.strip() or media_url:
            fault("template", _("Send either a template or a text (or media), not both."))
        if channel and channel != WHATSAPP:
            fault(
                "template",
                _("Templates are WhatsApp's: write a text for %(channel)s.") % {"channel": channel},
            )
        if not template.name.strip() or len(template.name) > TEMPLATE_NAME_MAX_CHARS:
            fault("template", _("Give the template's name as WhatsApp knows it."))
        if not TEMPLATE_LANGUAGE_RE.match(template.language or ""):
            fault(
                "template",
                _("Give the template's language as WhatsApp writes it (en, en_US, pt_BR)."),
            )
        parameters = template.parameters
        if len(parameters) > TEMPLATE_MAX_PARAMETERS or any(
            not key.strip() or len(key) > 100 or len(value) > TEMPLATE_PARAMETER_MAX_CHARS
            for key, value in parameters.items()
        ):
            fault(
                "template",
                _(
                    "Template parameters: at most %(count)s, each a name and a value of at "
                    "most %(limit)s characters."
                )
                % {"count": TEMPLATE_MAX_PARAMETERS, "limit": TEMPLATE_PARAMETER_MAX_CHARS},
            )
        return
    if not text.strip() and not media_url:
        fault("text", _("Write a text or give a media URL (or, on WhatsApp, a template)."))
    too_long = text_length_problem(text, REPLY_MAX_CHARS)
    if too_long:
        fault("text", too_long)
    if media_url:
        try:
            URLValidator(schemes=["https", "http"])(media_url)
        except ValidationError:
            fault("media_url", _("Give the media's address as an http(s) URL."))
        if len(media_url) > 2000:
            fault("media_url", _("A media URL is at most 2,000 characters."))


def thread_key(channel: str, identity: str) -> str:
    """The thread of an outbound chat: its canonical identity (Sinch names no conversation yet)."""
    return f"identity:{channel}:{identity}"


def open_elsewhere(contact: Contact) -> str:
    """Why the customer cannot get a new chat: their open conversation on the channel, if any."""
    open_one = (
        Contact.objects.filter(
            sinch_app_id=contact.sinch_app_id,
            sinch_channel=contact.sinch_channel,
            source=contact.source,
            ended_at__isnull=True,
            simulated=False,
        )
        .order_by()
        .values_list("pk", flat=True)
        .first()
    )
    if open_one is None:
        return ""
    return _(
        "%(identity)s already has an open conversation on %(channel)s (contact %(contact)s): "
        "reply there."
    ) % {"identity": contact.source, "channel": contact.sinch_channel, "contact": open_one}


def whatsapp_window_problem(*, app_id: str, channel: str, identity: str) -> str:
    """Why free text or media cannot go to the customer now (WhatsApp's window); "" if it can."""
    if channel != WHATSAPP or customer_wrote_recently(
        app_id=app_id, channel=channel, identity=identity
    ):
        return ""
    return _(
        "%(identity)s has not written on WhatsApp in the last 24 hours: outside that "
        "window only a template can start the chat. Choose a WhatsApp template."
    ) % {"identity": identity}


def customer_wrote_recently(*, app_id: str, channel: str, identity: str) -> bool:
    """Whether the customer's last message on the channel is within WhatsApp's 24-hour window."""
    return Message.objects.filter(
        direction=MessageDirection.INBOUND,
        contact__sinch_app_id=app_id,
        contact__sinch_channel=channel,
        contact__source=canonical_identity(channel, identity),
        contact__simulated=False,
        created_at__gte=timezone.now() - WHATSAPP_WINDOW,
    ).exists()
