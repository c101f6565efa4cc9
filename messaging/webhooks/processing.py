"""Workers claim pending callbacks in batches and apply each through the handler table.

A claim is a short transaction: up to a batch of pending callbacks nobody holds (or whose
holder's lease has run out) are locked with SELECT ... FOR UPDATE SKIP LOCKED (on SQLite the
IMMEDIATE transaction serialises workers instead) and stamped with the worker and the time.
Then each callback is processed on its own, in its own transactions, so that no transaction
is open while an integration is called and a slow one holds nothing but its own callback.
A worker that dies leaves its claims to expire after WORK_LEASE_SECONDS; any worker then takes
them over, records that it did, and finishes the work (handlers are idempotent). The workers'
sweep (`messaging.wake.callbacks_sweep`) looks for such work on start and every
WORK_SWEEP_SECONDS, so that no acknowledged callback waits for the next one to arrive.

About 500 lines, kept whole: claiming, taking over, processing and marking are one protocol
over the same columns (claimed_by, claimed_at, attempts, takeovers, reason_code), and reading
it in one place is what keeps it right.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.core import checks
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from configurator import housekeeping, metrics
from configurator.logcontext import log_context
from messaging.choices import AuthenticationDirection, CallbackStatus, ReasonCode
from messaging.models import Callback, ServiceAuthentication
from messaging.selectors import callbacks_held
from messaging.webhooks.handlers import (
    ACTING_TRIGGERS,
    HANDLERS,
    IGNORED_TRIGGERS,
    STEPWISE_TRIGGERS,
    CallbackError,
    CallbackIgnored,
    Summary,
)
from messaging.webhooks.payload import BodyRefused, stored_json

logger = logging.getLogger(__name__)

# Small enough that a worker's other threads (and other workers) share a burst, rather than
# one thread holding a hundred callbacks behind a slow integration.
BATCH_SIZE = 20
# Claims of one callback in all (its first, and take-overs after workers stopped on it).
CALLBACK_MAX_ATTEMPTS = 5

# The longest a callback's claim goes without renewal: one blocking integration call, its OAuth
# token fetch and its request each cut at the integration's timeout (at most 60 s). The claim is
# renewed before each such call (`housekeeping.keep_claim`) and, late in a long batch, before
# each callback; WORK_LEASE_SECONDS must be at least this long (a system check says so), so that
# no claim runs out while a call it covers is under way.
LONGEST_CALL_SECONDS = 60.0


def longest_unrenewed_seconds() -> float:
    """How long processing a callback can go between two renewals of its claim."""
    return 2 * LONGEST_CALL_SECONDS


def check_lease(**kwargs: Any) -> list[checks.CheckMessage]:
    """System check: a claim must outlast the call it covers between two renewals."""
    longest = longest_unrenewed_seconds()
    if longest <= settings.WORK_LEASE_SECONDS:
        return []
    return [
        checks.Warning(
            f"WORK_LEASE_SECONDS ({settings.WORK_LEASE_SECONDS}) is shorter than one "
            f"integration call can take ({longest:g} s: an OAuth token fetch and the request, "
            "each cut at a timeout of at most 60 s).",
            hint="A worker could take over a callback whose integrations are still being "
            f"called. Set WORK_LEASE_SECONDS to at least {longest:g}.",
            id="messaging.W001",
        )
    ]


def callbacks_process_pending(
    *,
    batch_size: int = BATCH_SIZE,
    max_batches: int | None = None,
    more_waiting: Callable[[], object] | None = None,
) -> int:
    """Process pending callbacks until none is left (or `max_batches`); returns the count.

    `more_waiting` is called once, on the first full batch, so that the caller can wake another
    worker to share what is left.
    """
    total = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        batch = callbacks_claim(limit=batch_size)
        if not batch:
            break
        if len(batch) == batch_size and more_waiting is not None:
            more_waiting()
            more_waiting = None
        released = _process_claimed(batch)
        total += len(batch) - released
        batches += 1
        if len(batch) < batch_size and not released:
            break
    return total


def callbacks_claim(*, limit: int) -> list[Callback]:
    """Claim up to `limit` pending callbacks that nobody holds or whose lease has run out.

    Each claim counts as an attempt. A callback taken over from stopped workers
    CALLBACK_MAX_ATTEMPTS times is failed instead: something in it stops its worker.
    """
    me = housekeeping.worker_id()
    now = timezone.now()
    expired = housekeeping.lease_cutoff()
    with transaction.atomic():
        batch = list(
            Callback.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=CallbackStatus.PENDING)
            .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=expired))
            .order_by("id")[:limit]
        )
        if not batch:
            return []
        exhausted = [
            c for c in batch if c.claimed_at is not None and c.attempts >= CALLBACK_MAX_ATTEMPTS
        ]
        if exhausted:
            Callback.objects.filter(pk__in=[c.pk for c in exhausted]).update(
                status=CallbackStatus.FAILED,
                processed_at=now,
                reason_code=ReasonCode.NONE,
                status_reason=(
                    f"its processing stopped {CALLBACK_MAX_ATTEMPTS} workers (taken over each "
                    "time their claim ran out): not tried again; see the workers' logs"
                ),
            )
            batch = [c for c in batch if c not in exhausted]
        taken = [c for c in batch if c.claimed_at is not None]
        Callback.objects.filter(pk__in=[c.pk for c in batch]).update(
            claimed_by=me, claimed_at=now, attempts=F("attempts") + 1
        )
        for callback in taken:
            note = _takeover_note(callback)
            Callback.objects.filter(pk=callback.pk).update(
                takeovers=F("takeovers") + 1,
                status_reason=note,
                reason_code=ReasonCode.ATTEMPT_NOTE,
            )
            callback.takeovers += 1
            callback.status_reason = note
            callback.reason_code = ReasonCode.ATTEMPT_NOTE
    if taken:
        logger.warning(
            "took over %d callbacks whose worker stopped: %s",
            len(taken),
            ", ".join(f"#{c.pk} from {c.claimed_by}" for c in taken),
        )
    for callback in batch:
        callback.claimed_by, callback.claimed_at = me, now
        callback.attempts += 1
    return batch


def _takeover_note(callback: Callback) -> str:
    return (
        f"attempt {callback.attempts + 1}: taken over from worker {callback.claimed_by}, "
        f"which stopped (its claim of {callback.claimed_at:%Y-%m-%d %H:%M:%S} UTC ran out)"
    )


def _process_claimed(batch: list[Callback]) -> int:
    """Process a claimed batch; returns how many callbacks were given back to be tried again."""
    released = 0
    services = _services({c.service_id for c in batch})
    earlier = _earlier(batch)
    claimed = time.monotonic()
    fresh_for = settings.WORK_LEASE_SECONDS - longest_unrenewed_seconds()
    for callback in batch:
        # Late in a long batch, renew this callback's claim first: it then has a whole lease,
        # and one another worker took over meanwhile is left to that worker.
        if time.monotonic() - claimed > fresh_for and not _claim_renew(callback):
            logger.warning("callback %s was taken over before its turn came", callback.pk)
            continue
        with housekeeping.holding(partial(_claim_renew, callback)):
            released += callback_process(
                callback, service=services.get(callback.service_id, _NO_SERVICE), earlier=earlier
            )
    return released


def _claim_renew(callback: Callback) -> bool:
    """Extend this worker's claim on one callback; False when it is no longer this worker's."""
    now = timezone.now()
    renewed = Callback.objects.filter(
        pk=callback.pk, status=CallbackStatus.PENDING, claimed_by=callback.claimed_by
    ).update(claimed_at=now)
    callback.claimed_at = now
    return bool(renewed)


def callbacks_waiting() -> bool:
    """Whether a callback is pending with no claim, or with a claim whose lease ran out."""
    return (
        Callback.objects.filter(status=CallbackStatus.PENDING)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=housekeeping.lease_cutoff()))
        .exists()
    )


@dataclass(frozen=True)
class ReceivingService:
    """What processing needs to know of the service a callback came to."""

    name: str
    triggers: frozenset[str]
    apps: frozenset[str]


_NO_SERVICE = ReceivingService(name="", triggers=frozenset(), apps=frozenset())


def _services(service_ids: set[int]) -> dict[int, ReceivingService]:
    """The receiving services' subscribed triggers and outbound apps, in one query."""
    rows = ServiceAuthentication.objects.filter(service_id__in=service_ids).values_list(
        "service_id", "service__name", "direction", "app_id", "triggers"
    )
    names: dict[int, str] = {}
    triggers: dict[int, frozenset[str]] = {}
    apps: dict[int, set[str]] = {service_id: set() for service_id in service_ids}
    for service_id, name, direction, app_id, subscribed in rows:
        names[service_id] = name
        if direction == AuthenticationDirection.INBOUND:
            triggers[service_id] = frozenset(subscribed or ())
        elif app_id:
            apps[service_id].add(app_id)
    return {
        service_id: ReceivingService(
            name=names.get(service_id, ""),
            triggers=triggers.get(service_id, frozenset()),
            apps=frozenset(apps[service_id]),
        )
        for service_id in service_ids
    }


def _foreign_app(callback: Callback, service: ReceivingService) -> str | None:
    """Why a callback must not act on its app (None when the receiving service holds it)."""
    app_id = callback.app_id.upper()
    if app_id in service.apps:
        return None
    if not app_id:
        return "the callback names no app"
    owner = (
        ServiceAuthentication.objects.filter(
            app_id=app_id, direction=AuthenticationDirection.OUTBOUND
        )
        .values_list("service__name", flat=True)
        .first()
    )
    if owner is not None:
        return f"app {app_id} belongs to messaging service {owner}, not {service.name}"
    return f"app {app_id} has no outbound credentials in messaging service {service.name}"


@dataclass
class Earlier:
    """Callbacks with the same service and key as some in a batch: done, or under way elsewhere."""

    processed: dict[tuple[int, str], int]
    # Pending ones another worker holds with a live claim (a Sinch retry racing the original).
    in_flight: dict[tuple[int, str], int]


def _earlier(batch: list[Callback]) -> Earlier:
    """What is already processed, or being processed elsewhere, for the batch's keys.

    Two queries, so that each is served by its partial index (processed: the processed-once
    constraint; pending: `messaging_cb_pending`) however big the table grows.
    """
    service_ids = {c.service_id for c in batch}
    dedupe_keys = {c.dedupe_key for c in batch}
    processed = Callback.objects.filter(
        service_id__in=service_ids, dedupe_key__in=dedupe_keys, status=CallbackStatus.PROCESSED
    ).values_list("service_id", "dedupe_key", "pk")
    earlier = Earlier(processed={(s, k): pk for s, k, pk in processed}, in_flight={})
    held = callbacks_held(
        service_ids=service_ids, dedupe_keys=dedupe_keys, excluding=[c.pk for c in batch]
    ).values_list("service_id", "dedupe_key", "pk")
    for service_id, key, pk in held:
        earlier.in_flight[(service_id, key)] = min(pk, earlier.in_flight.get((service_id, key), pk))
    return earlier


def callback_process(
    callback: Callback,
    *,
    service: ReceivingService,
    earlier: Earlier | None = None,
) -> bool:
    """Apply one claimed callback and record its outcome; True when it is to be tried again.

    Every line logged meanwhile carries the callback's id (configurator.logcontext), and the
    outcome is counted for /metrics.
    """
    with log_context(callback_id=callback.pk):
        again = _callback_apply(callback, service=service, earlier=earlier)
        if not again and callback.status != CallbackStatus.PENDING:
            metrics.callback_processed(callback.trigger, callback.status)
            logger.info(
                "callback %s %s: %s%s",
                callback.pk,
                callback.status,
                callback.trigger or "no trigger",
                f" ({callback.status_reason})" if callback.status_reason else "",
            )
    return again


def _callback_apply(
    callback: Callback,
    *,
    service: ReceivingService,
    earlier: Earlier | None = None,
) -> bool:
    """Apply one claimed callback and record its outcome; True when it is to be tried again.

    `earlier` says which callbacks with the same service and dedupe key are processed, or held
    by another worker; it is read once per batch and kept up to date here. Most handlers run in
    one transaction with the outcome; those of STEPWISE_TRIGGERS commit in steps of their own
    (they call integrations between them) and the outcome is recorded after.
    """
    if earlier is None:
        earlier = _earlier([callback])
    key = (callback.service_id, callback.dedupe_key)
    if not callback.trigger:
        _mark(callback, CallbackStatus.IGNORED, "the body carries no known notification")
        return False
    if callback.trigger not in service.triggers:
        _mark(
            callback,
            CallbackStatus.IGNORED,
            f"the messaging service is not subscribed to {callback.trigger}",
        )
        return False
    if callback.trigger in IGNORED_TRIGGERS:
        _mark(callback, CallbackStatus.IGNORED, IGNORED_TRIGGERS[callback.trigger])
        return False
    handler = HANDLERS.get(callback.trigger)
    if handler is None:
        _mark(callback, CallbackStatus.IGNORED, f"no handler for {callback.trigger}")
        return False
    if callback.trigger in ACTING_TRIGGERS:
        foreign = _foreign_app(callback, service)
        if foreign is not None:
            _mark(callback, CallbackStatus.IGNORED, foreign)
            return False
    done = earlier.processed.get(key)
    if done is not None and done != callback.pk:
        _mark(callback, CallbackStatus.IGNORED, f"duplicate of callback #{done} (Sinch retry)")
        return False
    racing = earlier.in_flight.get(key)
    if racing is not None and racing < callback.pk:
        _mark(
            callback,
            CallbackStatus.IGNORED,
            f"duplicate of callback #{racing} (Sinch retry), which a worker is processing",
        )
        return False
    try:
        if callback.trigger in STEPWISE_TRIGGERS:
            summary = handler(callback, callback_payload(bytes(callback.raw_body)))
            with transaction.atomic():
                _mark(callback, CallbackStatus.PROCESSED, "", summary)
        else:
            with transaction.atomic():
                summary = handler(callback, callback_payload(bytes(callback.raw_body)))
                _mark(callback, CallbackStatus.PROCESSED, "", summary)
        earlier.processed[key] = callback.pk
    except IntegrityError:
        # Another worker processed the same notification between our check and now.
        first = _processed_duplicate(callback)
        _mark(
            callback,
            CallbackStatus.IGNORED,
            f"duplicate of callback #{first} (Sinch retry)"
            if first is not None
            else "what it reports is already stored (the same Sinch id came through another "
            "messaging service)",
        )
    except CallbackIgnored as exc:
        _mark(callback, CallbackStatus.IGNORED, str(exc), code=exc.code)
    except CallbackError as exc:
        _mark(callback, CallbackStatus.FAILED, str(exc), code=exc.code)
    except OperationalError as exc:
        if not _transient(exc) or callback.attempts >= CALLBACK_MAX_ATTEMPTS:
            logger.exception("callback %s failed in its handler", callback.pk)
            _mark(callback, CallbackStatus.FAILED, f"{type(exc).__name__}: {exc}")
            return False
        logger.warning(
            "callback %s met a passing database error, tried again: %s", callback.pk, exc
        )
        _release(callback, f"attempt {callback.attempts}: {exc}".strip())
        return True
    except Exception as exc:
        logger.exception("callback %s failed in its handler", callback.pk)
        _mark(callback, CallbackStatus.FAILED, f"{type(exc).__name__}: {exc}")
    return False


# Errors the database gives a transaction that lost a race (deadlock, serialization, lock not
# available; SQLite's busy database): the callback is tried again (CALLBACK_MAX_ATTEMPTS in all).
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def _transient(exc: OperationalError) -> bool:
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    return sqlstate in TRANSIENT_SQLSTATES or "database is locked" in str(exc)


def _release(callback: Callback, reason: str) -> None:
    """Give the claim back, so that the next batch tries the callback again."""
    Callback.objects.filter(
        pk=callback.pk, status=CallbackStatus.PENDING, claimed_by=callback.claimed_by
    ).update(
        claimed_by="",
        claimed_at=None,
        attempts=callback.attempts,
        status_reason=reason[:2000],
        reason_code=ReasonCode.ATTEMPT_NOTE,
    )


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


def _mark(
    callback: Callback,
    status: str,
    reason: str,
    summary: Summary | None = None,
    *,
    code: str = ReasonCode.NONE,
) -> None:
    """Record the outcome, unless another worker took the callback over meanwhile.

    A callback taken over keeps the note of that attempt after its outcome's reason.
    """
    if callback.takeovers and callback.reason_code == ReasonCode.ATTEMPT_NOTE:
        # The reason then holds that note alone (a take-over's or a release's), whole.
        note = callback.status_reason
        reason = f"{reason}; {note}" if reason else note
    callback.status = status
    callback.status_reason = reason[:2000]
    callback.reason_code = code
    if summary is not None:
        callback.summary = summary
    callback.processed_at = timezone.now()
    updated = Callback.objects.filter(
        pk=callback.pk, status=CallbackStatus.PENDING, claimed_by=callback.claimed_by
    ).update(
        status=callback.status,
        status_reason=callback.status_reason,
        reason_code=callback.reason_code,
        summary=callback.summary,
        processed_at=callback.processed_at,
        attempts=callback.attempts,
    )
    if not updated:
        logger.warning(
            "callback %s was taken over by another worker before %s finished it",
            callback.pk,
            callback.claimed_by,
        )
