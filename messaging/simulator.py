"""The simulator: a customer's message built as Sinch would send it, through the real webhook path.

An administrator who has no customer (nor a phone on the channel) still wants to see a
conversation arrive. `message_simulate` builds the MESSAGE_INBOUND callback the Conversation API
would send for one of the service's apps, signs it with the service's stored webhook secret
exactly as Sinch signs (signature.compute_signature) and hands it to `ingest.receive`, the code
the webhook runs: the same verification (headers, timestamp, HMAC, JSON), the same one-row
storage and the same wake-up, so a worker processes it like any other callback. Only the
`simulated` argument of that call differs, which no request can set: the stored callback is
marked, and so are the conversation it opens (its replies go to the sandbox,
messaging.sinch.sandbox, not to Sinch) and the integrations' deliveries for it.

The sandbox's delivery reports take the same path (`simulated_callback_receive`).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext as _

from configurator import audit
from configurator.choices import AuditOperation
from conversations.models import Contact
from messaging.choices import AuthenticationDirection, CallbackStatus, Trigger
from messaging.models import Callback, MessagingService
from messaging.selectors import inbound_authentication
from messaging.webhooks.handlers import IDENTITY_LENGTH
from messaging.webhooks.ingest import receive
from messaging.webhooks.signature import (
    ALGORITHM,
    ALGORITHM_META,
    NONCE_META,
    SIGNATURE_META,
    TIMESTAMP_META,
    compute_signature,
)
from queues.choices import SUBCHANNEL_BY_NAME, SUBCHANNEL_BY_SINCH_CHANNEL
from queues.selectors import chat_routes

# As long as a reply may be (conversations' ReplySerializer): what one chat message holds.
MAX_TEXT_LENGTH = 4096
# Channels whose identities belong to one app: Sinch names the app in the channel identity.
APP_SCOPED_CHANNELS = frozenset({"MESSENGER", "VIBER", "INSTAGRAM", "LINE", "WECHAT"})
# Identities the simulator makes up, recognisable in every list.
GENERATED_IDENTITY_PREFIX = "simulated-"

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class SimulationRefused(Exception):
    """The webhook path refused what the simulator built; the message says why."""


@dataclass(frozen=True)
class SimulatedMessage:
    """What the simulator sent: the stored callback, and the app, channel and customer used."""

    callback_id: int
    app_id: str
    channel: str
    identity: str


@dataclass(frozen=True)
class _Simulation:
    app_id: str
    channel: str
    identity: str
    text: str
    secret: str


def sinch_id() -> str:
    """A new id as Sinch writes its message ids and nonces: a ULID (26 characters)."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def message_simulate(
    *,
    service: MessagingService,
    text: str,
    app_id: str = "",
    channel: str = "",
    identity: str = "",
) -> SimulatedMessage:
    """Send a simulated customer message to `service` through the webhook's own path.

    Defaults: the service's first app, a channel a chat queue is addressed to for that app, a
    new customer (identity). The same identity again joins that customer's open conversation.
    Raises ValidationError with the problems by field (app_id, channel, identity, text, or none
    for the service's own: no webhook secret, or the webhook refusing what was built).
    """
    simulation = _clean(service, app_id=app_id, channel=channel, identity=identity, text=text)
    at = datetime.now(UTC)
    body = inbound_message_body(
        app_id=simulation.app_id,
        project_id=service.project_id,
        channel=simulation.channel,
        identity=simulation.identity,
        text=simulation.text,
        message_id=sinch_id(),
        at=at,
    )
    try:
        callback_id = simulated_callback_receive(
            service_id=service.pk, secret=simulation.secret, body=body
        )
    except SimulationRefused as exc:
        raise ValidationError({NON_FIELD_ERRORS: [str(exc)]}) from None
    # The customer's identity and text are personal data: the entry names the callback.
    audit.record(
        operation=AuditOperation.SIMULATE,
        instance=service,
        detail={
            "callback": callback_id,
            "app_id": simulation.app_id,
            "channel": simulation.channel,
        },
    )
    return SimulatedMessage(
        callback_id=callback_id,
        app_id=simulation.app_id,
        channel=simulation.channel,
        identity=simulation.identity,
    )


def simulated_callback_receive(*, service_id: int, secret: str, body: bytes) -> int:
    """Sign `body` as Sinch does and pass it through the webhook's verification and storage.

    Returns the id of the callback stored (pending, marked simulated); SimulationRefused with
    the webhook's own answer when it refuses (the secret changed meanwhile, say).
    """
    nonce = sinch_id()
    timestamp = str(int(time.time()))
    meta = {
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        SIGNATURE_META: compute_signature(secret.encode(), body, nonce, timestamp),
        NONCE_META: nonce,
        TIMESTAMP_META: timestamp,
        ALGORITHM_META: ALGORITHM,
    }
    status, answer = receive(
        service_id=service_id, meta=meta, read_body=lambda: body, simulated=True
    )
    parsed = json.loads(answer)
    if status != 200:
        raise SimulationRefused(
            _("The webhook refused the simulated callback (HTTP %(status)d: %(reason)s).")
            % {"status": status, "reason": parsed.get("error", "")}
        )
    return int(parsed["callback"])


def inbound_message_body(
    *,
    app_id: str,
    project_id: str,
    channel: str,
    identity: str,
    text: str,
    message_id: str,
    at: datetime,
) -> bytes:
    """A MESSAGE_INBOUND callback body as the Conversation API sends it (sinch.md 2.1, 2.3).

    As for an app in Dispatch mode (seed 001): no Sinch contact or conversation, so the
    customer's later messages join the open conversation by their channel identity.
    """
    when = _sinch_time(at)
    return _body(
        {
            "app_id": app_id,
            "accepted_time": when,
            "event_time": when,
            "project_id": project_id,
            "message": {
                "id": message_id,
                "direction": "TO_APP",
                "contact_message": {"text_message": {"text": text}},
                "channel_identity": _channel_identity(app_id, channel, identity),
                "conversation_id": "",
                "contact_id": "",
                "metadata": "",
                "accept_time": when,
                "sender_id": "",
                "processing_mode": "DISPATCH",
                "injected": False,
            },
            "message_metadata": "",
        }
    )


def delivery_report_body(
    *,
    app_id: str,
    project_id: str,
    channel: str,
    identity: str,
    message_id: str,
    status: str,
    at: datetime,
    contact_id: str = "",
    conversation_id: str = "",
) -> bytes:
    """A MESSAGE_DELIVERY callback body as the Conversation API sends it for a sent message."""
    when = _sinch_time(at)
    return _body(
        {
            "app_id": app_id,
            "accepted_time": when,
            "event_time": when,
            "project_id": project_id,
            "message_delivery_report": {
                "message_id": message_id,
                "conversation_id": conversation_id,
                "status": status,
                "channel_identity": _channel_identity(app_id, channel, identity),
                "contact_id": contact_id,
                "metadata": "",
                "processing_mode": "DISPATCH",
            },
            "message_metadata": "",
        }
    )


def simulation_routes(service: MessagingService) -> list[tuple[str, str, str]]:
    """(app ID, Conversation API channel, queue name) that the service's apps reach a queue by."""
    apps = service_apps(service)
    return [
        (app_id, SUBCHANNEL_BY_NAME[sub].sinch_channel, queue)
        for app_id, sub, queue in chat_routes(apps)
        if sub in SUBCHANNEL_BY_NAME
    ]


def simulated_conversation(callback: Callback | None) -> Contact | None:
    """The conversation a processed simulated message opened or joined, with its queue."""
    if callback is None or callback.status != CallbackStatus.PROCESSED:
        return None
    contact = callback.summary.get("contact") if isinstance(callback.summary, dict) else None
    if not isinstance(contact, str):
        return None
    return Contact.objects.select_related("queue").filter(pk=contact).first()


def webhook_secret(service: MessagingService) -> str | None:
    """The secret the service's webhook verifies with now (the current one), if it has one."""
    entry = inbound_authentication(service.pk)
    return None if entry is None or entry.secret is None else entry.secret.reveal()


def delivery_reports_subscribed(service: MessagingService) -> bool:
    """Whether the service's webhook takes MESSAGE_DELIVERY: as Sinch would, the sandbox only
    reports on replies (DELIVERED, READ) to a service subscribed to it."""
    entry = inbound_authentication(service.pk)
    return entry is not None and Trigger.MESSAGE_DELIVERY in (entry.triggers or [])


def _clean(
    service: MessagingService, *, app_id: str, channel: str, identity: str, text: str
) -> _Simulation:
    """Check every input and fill in the defaults; all problems at once, by field."""
    errors: dict[str, list[str]] = {}
    secret = webhook_secret(service)
    if secret is None:
        errors[NON_FIELD_ERRORS] = [
            _(
                "Messaging service %(name)s has no webhook secret: add the inbound (webhook) "
                "entry with its secret first; simulated callbacks are signed with it."
            )
            % {"name": service.name}
        ]
    apps = service_apps(service)
    app = app_id.strip().upper()
    if not apps:
        errors["app_id"] = [
            _(
                "Messaging service %(name)s has no app: add an outbound entry KEYID@APPID "
                "first; simulated messages come to one of its apps."
            )
            % {"name": service.name}
        ]
    elif not app:
        app = apps[0]
    elif app not in apps:
        errors["app_id"] = [
            _("%(app)s is not an app of messaging service %(name)s: choose one of %(apps)s.")
            % {"app": app_id.strip()[:80], "name": service.name, "apps": ", ".join(apps)}
        ]
    sinch_channel = channel.strip().upper()
    if sinch_channel and sinch_channel not in SUBCHANNEL_BY_SINCH_CHANNEL:
        errors["channel"] = [
            _("Unknown channel “%(channel)s”: choose one of %(channels)s.")
            % {"channel": channel.strip()[:40], "channels": ", ".join(SUBCHANNEL_BY_SINCH_CHANNEL)}
        ]
    elif not sinch_channel and "app_id" not in errors:
        routes = [ch for route_app, ch, _queue in simulation_routes(service) if route_app == app]
        if routes:
            sinch_channel = routes[0]
        else:
            errors["channel"] = [
                _(
                    "No chat queue is addressed to app %(app)s: add one (Queue Management > "
                    "Queues, address %(app)s@whatsapp), or name a channel to see a message "
                    "that reaches no queue."
                )
                % {"app": app}
            ]
    customer = identity.strip()
    if len(customer) > IDENTITY_LENGTH:
        errors["identity"] = [
            _("At most %(max)d characters (this has %(count)d).")
            % {"max": IDENTITY_LENGTH, "count": len(customer)}
        ]
    elif not _sendable(customer) or not customer.isprintable():
        errors["identity"] = [_("Letters, digits and punctuation only: no control characters.")]
    elif not customer:
        customer = GENERATED_IDENTITY_PREFIX + secrets.token_hex(4)
    if not text.strip():
        errors["text"] = [_("Write the customer's message.")]
    elif len(text) > MAX_TEXT_LENGTH:
        errors["text"] = [
            _("At most %(max)d characters (this has %(count)d).")
            % {"max": MAX_TEXT_LENGTH, "count": len(text)}
        ]
    elif not _sendable(text):
        errors["text"] = [_("The text holds characters no channel delivers (NUL, lone halves).")]
    if errors or secret is None:
        raise ValidationError(errors)
    return _Simulation(
        app_id=app, channel=sinch_channel, identity=customer, text=text, secret=secret
    )


def service_apps(service: MessagingService) -> list[str]:
    """The service's app IDs, in the order their entries were made (the first is the default)."""
    return [
        entry.app_id
        for entry in sorted(service.authentications.all(), key=lambda e: e.pk)
        if entry.direction == AuthenticationDirection.OUTBOUND and entry.app_id
    ]


def _sendable(value: str) -> bool:
    """Whether `value` is text a channel carries: UTF-8 encodable (no lone surrogate), no NUL."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def _channel_identity(app_id: str, channel: str, identity: str) -> dict[str, str]:
    return {
        "channel": channel,
        "identity": identity,
        "app_id": app_id if channel in APP_SCOPED_CHANNELS else "",
    }


def _sinch_time(at: datetime) -> str:
    """UTC ISO 8601 with milliseconds and Z, as the Conversation API writes its times."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _body(payload: dict[str, Any]) -> bytes:
    # Compact, as Sinch's bodies are; non-ASCII text as UTF-8, not escaped.
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
