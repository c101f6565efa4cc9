"""The hot path of a Sinch callback: verify it, store it, wake a worker. Nothing else.

`verify_callback` does every check of DESIGN.md "The main path" step 1 but the nonce; the nonce
is unique per service in the callbacks table, so `store_callback`'s one INSERT both stores the
callback and proves the nonce unused. The stored row is the unit of work (status `pending`):
no second row is written per callback.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connections, transaction

from configurator import metrics
from configurator.logcontext import in_this_context, log_context
from messaging.choices import NOTIFICATION_KEYS, VerifiedWith
from messaging.models import Callback, MessagingService
from messaging.wake import callback_wake
from messaging.webhooks.payload import BodyRefused, parse_received, text_safe
from messaging.webhooks.secrets import webhook_secrets
from messaging.webhooks.signature import (
    SignatureError,
    SignedHeaders,
    check_timestamp,
    read_signed_headers,
)
from messaging.webhooks.storage import CallbackRow, insert_callback

logger = logging.getLogger(__name__)


class WebhookRejected(Exception):
    """A callback that is refused, with the HTTP status and a short reason for the sender.

    `kind` names the reason in a few fixed words (REFUSAL_KINDS), for the refusals metric.
    """

    def __init__(self, status: int, reason: str, *, kind: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.kind = kind


# What a refusal's `kind` may be: the label values of configurator_webhook_refusals_total.
REFUSAL_KINDS = (
    "too_large",
    "unreadable",
    "unknown_service",
    "service_disabled",
    "signature_headers",
    "timestamp",
    "signature_mismatch",
    "bad_body",
    "nonce_reused",
    "not_stored",
    "secret_unreadable",
)


def receive(
    *,
    service_id: int,
    meta: Mapping[str, Any],
    read_body: Callable[[], bytes],
    simulated: bool = False,
) -> tuple[int, bytes]:
    """Verify and store one callback; the HTTP status and JSON body to answer with.

    Shared by the Django view and the lean WSGI entry (messaging.webhooks.entry), so both answer
    alike. `read_body` is called only once the declared length is known to be acceptable.
    `simulated` is for the simulator (messaging.simulator), which signs what it builds with the
    stored secret and hands it here, so that it is verified and stored like Sinch's callbacks
    and marked as its own; the webhook never passes it, so no request can set the mark.
    """
    try:
        declared = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    try:
        if declared > settings.SINCH_WEBHOOK_MAX_BODY:
            # Refuse before reading: the body never enters memory.
            raise WebhookRejected(413, "body larger than 1 MiB", kind="too_large")
        try:
            body = read_body()
        except OSError:
            # The sender went away mid-body (UnreadablePostError, a WSGI server's own error).
            raise WebhookRejected(400, "body could not be read", kind="unreadable") from None
        row = verify_callback(service_id=service_id, body=body, meta=meta)
        callback_id = store_callback(row._replace(simulated=True) if simulated else row)
    except WebhookRejected as exc:
        metrics.webhook_refused(exc.kind)
        logger.warning(
            "sinch webhook refused: service=%s status=%s reason=%s",
            service_id,
            exc.status,
            exc.reason,
        )
        return exc.status, json.dumps({"error": exc.reason}).encode()
    except DatabaseError:
        # Nothing was stored; Sinch retries a callback that was not answered with 2xx.
        metrics.webhook_refused("not_stored")
        logger.exception("sinch webhook not stored: service=%s", service_id)
        return 503, b'{"error": "callback could not be stored, retry later"}'
    except ImproperlyConfigured:
        # The webhook secret cannot be decrypted (SECRETS_ENCRYPTION_KEYS lost its key): the
        # operator must act; until then Sinch keeps the callback and retries.
        metrics.webhook_refused("secret_unreadable")
        logger.exception("sinch webhook not verified: service=%s", service_id)
        return 503, b'{"error": "callback could not be verified, retry later"}'
    metrics.callback_received(row.trigger)
    # Formatted by hand: a JSON encoder costs more than the rest of the answer.
    return 200, b'{"status": "accepted", "callback": %d}' % callback_id


def verify_callback(*, service_id: int, body: bytes, meta: Mapping[str, Any]) -> CallbackRow:
    """Check size, service, signature headers, timestamp, HMAC and JSON of one callback.

    Returns the row to store, classified (trigger, Sinch ids, deduplication key).
    """
    if len(body) > settings.SINCH_WEBHOOK_MAX_BODY:
        raise WebhookRejected(413, "body larger than 1 MiB", kind="too_large")
    secrets = webhook_secrets.get(service_id)
    if secrets is None:
        raise WebhookRejected(404, "unknown messaging service", kind="unknown_service")
    if not secrets.enabled:
        raise WebhookRejected(403, "messaging service disabled", kind="service_disabled")
    try:
        headers = read_signed_headers(meta)
    except SignatureError as exc:
        raise WebhookRejected(401, str(exc), kind="signature_headers") from None
    now = time.time()
    try:
        check_timestamp(headers, now=now, tolerance=settings.SINCH_WEBHOOK_TOLERANCE)
    except SignatureError as exc:
        raise WebhookRejected(401, str(exc), kind="timestamp") from None
    verified_with = secrets.verifying(body, headers, now=now)
    if verified_with is None:
        fresh = webhook_secrets.reload_after_mismatch(service_id, secrets)
        verified_with = None if fresh is None else fresh.verifying(body, headers, now=now)
        if verified_with is None:
            raise WebhookRejected(401, "signature does not match", kind="signature_mismatch")
    try:
        payload = parse_received(body)
    except BodyRefused as exc:
        raise WebhookRejected(400, str(exc), kind="bad_body") from None
    return _classify(service_id, headers, body, payload, verified_with)


def store_callback(row: CallbackRow) -> int:
    """Store the callback as pending work (one row) and make sure a worker will take it.

    Returns the new callback's id. The nonce is unique per service in the callbacks table, so
    the INSERT also proves it unused.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    # In autocommit (the request) the INSERT is its own transaction; inside a caller's
    # transaction a savepoint keeps an unknown service from breaking it.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard:
            callback_id = insert_callback(connection, row)
    except IntegrityError:
        if MessagingService.objects.filter(pk=row.service_id).exists():
            raise
        webhook_secrets.forget(row.service_id)
        raise WebhookRejected(404, "unknown messaging service", kind="unknown_service") from None
    if callback_id is None:
        raise WebhookRejected(401, "nonce already used", kind="nonce_reused")
    # The wake-up's lines (the task enqueued) are about this callback: a context variable set,
    # nothing the webhook's throughput would notice.
    with log_context(callback_id=callback_id):
        if connection.in_atomic_block:
            connection.on_commit(in_this_context(callback_wake))
        else:
            callback_wake()  # already committed (autocommit, the request path)
    return callback_id


# The lengths of the callback's columns: a longer id is cut, never a database error.
_ID_LENGTH = Callback._meta.get_field("message_id").max_length or 100
_APP_ID_LENGTH = Callback._meta.get_field("app_id").max_length or 64
_DEDUPE_KEY_LENGTH = Callback._meta.get_field("dedupe_key").max_length or 200


def _text(value: Any, length: int = _ID_LENGTH) -> str:
    # No Sinch id holds NUL or a lone surrogate, but a column must not fail on one.
    return text_safe(value[:length]) if isinstance(value, str) else ""


def _classify(
    service_id: int,
    headers: SignedHeaders,
    body: bytes,
    payload: dict[str, Any],
    verified_with: VerifiedWith,
) -> CallbackRow:
    """Name the trigger from the notification key and pick out Sinch's ids."""
    trigger, notification = "", {}
    for key, candidate in NOTIFICATION_KEYS:
        value = payload.get(key)
        if isinstance(value, dict):
            trigger, notification = str(candidate), value
            break
    conversation = notification.get("conversation")
    conversation = conversation if isinstance(conversation, dict) else {}
    contact = notification.get("contact")
    contact = contact if isinstance(contact, dict) else {}
    message_id = _text(notification.get("message_id") or notification.get("event_id"))
    if not message_id and trigger in ("MESSAGE_INBOUND", "EVENT_INBOUND"):
        message_id = _text(notification.get("id"))
    contact_id = _text(notification.get("contact_id") or contact.get("id"))
    contact_id = contact_id or _text(conversation.get("contact_id"))
    conversation_id = _text(notification.get("conversation_id") or conversation.get("id"))
    status = _text(notification.get("status"))
    if message_id:
        # A message or event is processed once; each delivery status of it once.
        dedupe_key = f"{trigger}:{message_id}:{status}" if status else f"{trigger}:{message_id}"
    else:
        # Sinch resends the same body when it retries: its hash identifies the notification.
        dedupe_key = f"{trigger}:sha256:{hashlib.sha256(body).hexdigest()}"
    return CallbackRow(
        service_id=service_id,
        trigger=trigger,
        app_id=_text(payload.get("app_id"), _APP_ID_LENGTH),
        message_id=message_id,
        contact_id=contact_id,
        conversation_id=conversation_id,
        nonce=headers.nonce,
        signed_at=datetime.fromtimestamp(headers.timestamp, tz=UTC),
        received_at=datetime.now(UTC),
        raw_body=body,
        dedupe_key=dedupe_key[:_DEDUPE_KEY_LENGTH],
        verified_with=verified_with.value,
    )
