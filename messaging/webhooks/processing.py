"""Workers claim pending callbacks in batches and apply each through the handler table.

Claiming locks the batch with SELECT ... FOR UPDATE SKIP LOCKED (on SQLite the IMMEDIATE
transaction serialises workers instead), and the batch is processed inside that transaction:
a worker that dies leaves its callbacks pending for the next one, and no two workers ever hold
the same callback. Each callback runs in its own savepoint, so one failure spoils nothing else.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from messaging.choices import AuthenticationDirection, CallbackStatus
from messaging.models import Callback, ServiceAuthentication
from messaging.webhooks.handlers import (
    HANDLERS,
    IGNORED_TRIGGERS,
    CallbackError,
    CallbackIgnored,
    Summary,
)
from messaging.webhooks.payload import BodyRefused, stored_json

logger = logging.getLogger(__name__)

BATCH_SIZE = 100


def callbacks_process_pending(
    *, batch_size: int = BATCH_SIZE, max_batches: int | None = None
) -> int:
    """Process pending callbacks until none is left (or `max_batches`); returns the count."""
    total = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        done = _process_batch(batch_size)
        total += done
        batches += 1
        if done < batch_size:
            break
    return total


def _process_batch(batch_size: int) -> int:
    with transaction.atomic():
        batch = list(
            Callback.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=CallbackStatus.PENDING)
            .order_by("id")[:batch_size]
        )
        if not batch:
            return 0
        subscriptions = _subscriptions({c.service_id for c in batch})
        processed = _processed_keys(batch)
        for callback in batch:
            callback_process(
                callback,
                subscribed=subscriptions.get(callback.service_id, frozenset()),
                processed=processed,
            )
    return len(batch)


def _subscriptions(service_ids: set[int]) -> dict[int, frozenset[str]]:
    rows = ServiceAuthentication.objects.filter(
        service_id__in=service_ids, direction=AuthenticationDirection.INBOUND
    ).values_list("service_id", "triggers")
    return {service_id: frozenset(triggers or ()) for service_id, triggers in rows}


def _processed_keys(batch: list[Callback]) -> dict[tuple[int, str], int]:
    """Callbacks already processed with the same service and key as any in the batch."""
    rows = Callback.objects.filter(
        service_id__in={c.service_id for c in batch},
        dedupe_key__in={c.dedupe_key for c in batch},
        status=CallbackStatus.PROCESSED,
    ).values_list("service_id", "dedupe_key", "pk")
    return {(service_id, key): pk for service_id, key, pk in rows}


def callback_process(
    callback: Callback,
    *,
    subscribed: frozenset[str],
    processed: dict[tuple[int, str], int] | None = None,
) -> None:
    """Apply one claimed callback and record the outcome on it (caller holds the lock).

    `processed` maps (service, dedupe key) to callbacks already processed; it is read once per
    batch and kept up to date here.
    """
    if processed is None:
        processed = _processed_keys([callback])
    key = (callback.service_id, callback.dedupe_key)
    callback.attempts += 1
    if not callback.trigger:
        _mark(callback, CallbackStatus.IGNORED, "the body carries no known notification")
        return
    if callback.trigger not in subscribed:
        _mark(
            callback,
            CallbackStatus.IGNORED,
            f"the messaging service is not subscribed to {callback.trigger}",
        )
        return
    if callback.trigger in IGNORED_TRIGGERS:
        _mark(callback, CallbackStatus.IGNORED, IGNORED_TRIGGERS[callback.trigger])
        return
    handler = HANDLERS.get(callback.trigger)
    if handler is None:
        _mark(callback, CallbackStatus.IGNORED, f"no handler for {callback.trigger}")
        return
    earlier = processed.get(key)
    if earlier is not None and earlier != callback.pk:
        _mark(callback, CallbackStatus.IGNORED, f"duplicate of callback #{earlier} (Sinch retry)")
        return
    try:
        with transaction.atomic():
            summary = handler(callback, callback_payload(bytes(callback.raw_body)))
            _mark(callback, CallbackStatus.PROCESSED, "", summary)
        processed[key] = callback.pk
    except IntegrityError:
        # Another worker processed the same notification between our check and now.
        earlier = _processed_duplicate(callback)
        _mark(callback, CallbackStatus.IGNORED, f"duplicate of callback #{earlier} (Sinch retry)")
    except CallbackIgnored as exc:
        _mark(callback, CallbackStatus.IGNORED, str(exc))
    except CallbackError as exc:
        _mark(callback, CallbackStatus.FAILED, str(exc))
    except Exception as exc:
        logger.exception("callback %s failed in its handler", callback.pk)
        _mark(callback, CallbackStatus.FAILED, f"{type(exc).__name__}: {exc}")


def callback_payload(raw_body: bytes) -> Any:
    """The callback's JSON as the handlers may store it (payload.stored_json).

    Sinch passes on what the end user typed, and PostgreSQL text and jsonb cannot hold NUL or a
    lone surrogate; bodies stored before the webhook refused NaN or deep nesting may hold those.
    A body that cannot be read at all fails the callback with the reason.
    """
    try:
        return stored_json(raw_body)
    except BodyRefused as exc:
        raise CallbackError(str(exc)) from None


def _processed_duplicate(callback: Callback) -> int | None:
    return (
        Callback.objects.filter(
            service_id=callback.service_id,
            dedupe_key=callback.dedupe_key,
            status=CallbackStatus.PROCESSED,
        )
        .exclude(pk=callback.pk)
        .values_list("pk", flat=True)
        .first()
    )


def _mark(callback: Callback, status: str, reason: str, summary: Summary | None = None) -> None:
    callback.status = status
    callback.status_reason = reason[:2000]
    if summary is not None:
        callback.summary = summary
    callback.processed_at = timezone.now()
    callback.save(update_fields=["status", "status_reason", "summary", "processed_at", "attempts"])
