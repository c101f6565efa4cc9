"""Background deliveries: sending, retries, the workers' sweep, and an operator's resend.

Integrations that do not steer the conversation become pending deliveries (`runtime`) that a
worker claims and sends (`deliveries_send`, the task `deliver_pending`), retried with backoff,
each attempt recorded (`recording`); the workers' sweep takes over a delivery whose worker
stopped (`deliveries_sweep`); an operator sends failed ones again (`deliveries_resend`, walked
in the background by the task `resend_walk`). The tasks are defined here, where their work is;
`integrations.tasks` names them under the paths rows were queued with before.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django_tasks import task

from configurator import audit, bulk, housekeeping, workers
from configurator.choices import AuditOperation
from configurator.tasks import enqueue_in_turn
from conversations.choices import ChannelType
from conversations.selectors import contact_detail
from conversations.services import contact_data_attach
from conversations.snapshot import contact_snapshot
from integrations.choices import ECHO_ENDPOINT, DeliveryMode, DeliveryStatus
from integrations.delivery import Execution, backoff_seconds, event_context, execute
from integrations.models import Delivery, Integration
from integrations.recording import (
    count_final_failure,
    count_finished,
    delivery_record,
)
from integrations.selectors import DatabaseTargets, integration_secrets

logger = logging.getLogger(__name__)


@task()
def deliver_pending(delivery_ids: list[int]) -> int:
    """Send these pending deliveries in order (one event's, by ordinal); returns how many."""
    return deliveries_send(delivery_ids)


@task()
def resend_walk(selection: str, after: int, up_to: int) -> int:
    """Send the next batch of an operator's resend again; enqueues itself for the batch after."""
    return deliveries_resend_walk(selection, after, up_to)


# Task rows queued before the tasks moved here name them by their old path, which
# `integrations.tasks` still resolves: the sweep and the resumable walks (apps.py) know both.
LEGACY_MODULE = "integrations.tasks"
DELIVER_PENDING_PATHS = (deliver_pending.module_path, f"{LEGACY_MODULE}.deliver_pending")
RESEND_WALK_PATHS = (resend_walk.module_path, f"{LEGACY_MODULE}.resend_walk")


def deliveries_send(delivery_ids: Sequence[int]) -> int:
    """Send pending background deliveries in the order given; returns how many were sent.

    Each is claimed first (pending → sending), so one delivery is sent once even if two
    workers hold the same task. A retryable failure schedules the next attempt.
    """
    sent = 0
    for delivery_id in delivery_ids:
        claimed = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.SENDING,
            claimed_by=housekeeping.worker_id(),
            claimed_at=timezone.now(),
        )
        if claimed:
            _send_one(
                Delivery.objects.select_related("integration", "contact_event").get(pk=delivery_id)
            )
            sent += 1
    return sent


def _send_one(delivery: Delivery) -> None:
    integration = delivery.integration
    if not integration.fires:
        why = " and ".join(
            word
            for word, holds in (
                ("disabled", not integration.enabled),
                ("paused", integration.paused_at is not None),
            )
            if holds
        )
        delivery.status = DeliveryStatus.SKIPPED
        delivery.error = f"the integration was {why} before this delivery was sent"
        delivery.finished_at = timezone.now()
        delivery.save(update_fields=["status", "error", "finished_at"])
        count_finished(delivery)
        return
    entry = delivery.contact_event
    secrets = integration_secrets([integration.pk])[integration.pk]
    current: dict[str, Any] | None = None
    if integration.endpoint_url.strip() == ECHO_ENDPOINT:
        current = contact_snapshot(contact_detail().get(pk=delivery.contact_id))
    # A refused token is replaced with a second call: the claim is renewed before it
    # (`keep_claim`), so that the lease only has to outlast one call, as for callbacks.
    with housekeeping.holding(partial(_claim_renew, delivery)):
        execution = execute(
            configuration=integration.configuration,
            endpoint_url=integration.endpoint_url,
            context=event_context(entry, entry.snapshot),
            secrets=secrets,
            targets=DatabaseTargets(),
            channel_type=str(entry.snapshot.get("channel_type") or ChannelType.CHAT),
            echo_data=current,
            integration_id=integration.pk,
        )
    with transaction.atomic():
        still_ours = (
            Delivery.objects.select_for_update()
            .filter(pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_by=delivery.claimed_by)
            .exists()
        )
        if not still_ours:
            logger.warning(
                "delivery %s was taken over before %s finished it", delivery.pk, delivery.claimed_by
            )
            return
        applied: dict[str, Any] = {}
        if execution.succeeded and execution.save_values:
            saved = contact_data_attach(contact_id=delivery.contact_id, data=execution.save_values)
            applied = {"save": saved}
        delivery_record(delivery, execution, applied)
        if delivery.status == DeliveryStatus.FAILED:
            if execution.retryable and delivery.attempt < settings.INTEGRATIONS_MAX_ATTEMPTS:
                _retry_later(delivery, execution)
            else:
                count_final_failure(integration.pk, execution.error)


def _claim_renew(delivery: Delivery) -> bool:
    """Renew this worker's claim on a delivery it is sending; False if it was taken over."""
    return bool(
        Delivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_by=delivery.claimed_by
        ).update(claimed_at=timezone.now())
    )


def _retry_later(delivery: Delivery, execution: Execution) -> Delivery:
    delay = execution.retry_after
    if delay is None:
        delay = backoff_seconds(
            delivery.attempt,
            base=settings.INTEGRATIONS_RETRY_BASE_SECONDS,
            cap=settings.INTEGRATIONS_RETRY_MAX_SECONDS,
            jitter=random.random(),  # noqa: S311 (spreading retries, not security)
        )
    due = timezone.now() + timedelta(seconds=delay)
    delivery.status = DeliveryStatus.RETRYING
    delivery.error = f"{delivery.error}; attempt {delivery.attempt + 1} in {delay:.1f} s"
    delivery.save(update_fields=["status", "error"])
    return _schedule(delivery, attempt=delivery.attempt + 1, due=due)


def _schedule(previous: Delivery, *, attempt: int, due: datetime) -> Delivery:
    """A new pending attempt after `previous`, enqueued in the caller's transaction."""
    following = Delivery.objects.create(
        integration_id=previous.integration_id,
        contact_id=previous.contact_id,
        contact_event_id=previous.contact_event_id,
        event=previous.event,
        mode=DeliveryMode.BACKGROUND,
        attempt=attempt,
        previous=previous,
        due_at=due,
        simulated=previous.simulated,
    )
    enqueue_in_turn(deliver_pending, [following.pk], run_after=due)
    return following


def deliveries_sweep() -> int:
    """Finish deliveries whose worker stopped, and send those whose task was lost.

    A delivery `sending` past WORK_LEASE_SECONDS was claimed by a worker that stopped mid-send:
    it is failed with that reason and its next attempt scheduled, or, when its attempts are
    used, it stays failed and counts towards the pause. A pending delivery overdue by a lease
    while no delivery task waits lost its task with its worker (the task row claimed it): it is
    enqueued again (claiming pending → sending keeps it sent once). While delivery tasks wait,
    the workers are only behind, and nothing is enqueued twice. Returns how many deliveries it
    acted on.
    """
    expired = housekeeping.lease_cutoff()
    acted = 0
    while True:
        with transaction.atomic():
            stale = list(
                Delivery.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=DeliveryStatus.SENDING)
                .filter(Q(claimed_at__lt=expired) | Q(claimed_at__isnull=True))
                .order_by("id")[:100]
            )
            for delivery in stale:
                _take_over(delivery)
        acted += len(stale)
        if len(stale) < 100:
            break
    if any(workers.tasks_waiting(path) for path in DELIVER_PENDING_PATHS):
        # The workers are behind, not gone: the overdue deliveries' tasks are still queued.
        return acted
    overdue = list(
        Delivery.objects.filter(
            status=DeliveryStatus.PENDING, mode=DeliveryMode.BACKGROUND, due_at__lt=expired
        )
        .order_by("due_at", "id")
        .values_list("pk", flat=True)[:1000]
    )
    if overdue:
        enqueue_in_turn(deliver_pending, overdue)
    return acted + len(overdue)


def _take_over(delivery: Delivery) -> None:
    """Fail an attempt whose worker stopped mid-send; schedule the next one if attempts remain."""
    error = (
        f"attempt {delivery.attempt}: taken over from worker {delivery.claimed_by or '?'}, "
        "which stopped while sending it"
    )
    delivery.status = DeliveryStatus.FAILED
    delivery.error = error
    delivery.finished_at = timezone.now()
    count_finished(delivery)
    if delivery.mode == DeliveryMode.BACKGROUND and (
        delivery.attempt < settings.INTEGRATIONS_MAX_ATTEMPTS
    ):
        delivery.status = DeliveryStatus.RETRYING
        delivery.error = f"{error}; attempt {delivery.attempt + 1} now"
        delivery.save(update_fields=["status", "error", "finished_at"])
        _schedule(delivery, attempt=delivery.attempt + 1, due=timezone.now())
        return
    delivery.save(update_fields=["status", "error", "finished_at"])
    count_final_failure(delivery.integration_id, error)


# Failed deliveries sent again per batch; a delivery task sends this many of them in turn.
RESEND_BATCH = 500
RESEND_PER_TASK = 50


def resendable(selection: QuerySet[Delivery]) -> QuerySet[Delivery]:
    """The failed background deliveries of `selection` that were not sent again yet.

    A failed delivery is sent again by a new row that points at it (`previous`, unique): a row
    with a follower, a retry or a resend, was handled, and is never sent again a second time.
    """
    return selection.filter(mode=DeliveryMode.BACKGROUND, status=DeliveryStatus.FAILED).filter(
        ~Exists(Delivery.objects.filter(previous=OuterRef("pk")))
    )


@dataclass(frozen=True)
class Resent:
    """The first batch's new attempts; `more` when a task sends the rest of the selection again."""

    scheduled: list[Delivery]
    more: bool


def deliveries_resend(*, selection: QuerySet[Delivery]) -> Resent:
    """Send the failed background deliveries of `selection` again, at any size, in batches.

    Each gets a new first attempt that points at the failed one. The request does the first
    RESEND_BATCH (oldest first) and answers; the rest of the selection, as far as it reached
    when asked, is walked by `resend_walk` in the background (`configurator.bulk`). The audit
    trail records the resend on each integration of the first batch (one entry each).
    """
    resent = _resend_batch(selection, token=None, after=0, up_to=bulk.highest_key(Delivery))
    counts = Counter(delivery.integration_id for delivery in resent.scheduled)
    for integration in Integration.objects.filter(pk__in=counts).order_by("pk"):
        audit.record(
            operation=AuditOperation.RESEND,
            instance=integration,
            detail={"deliveries": counts[integration.pk], "more": resent.more},
        )
    return resent


def deliveries_resend_walk(token: str, after: int, up_to: int) -> int:
    """One background batch of a resend (and the task for the next); returns how many."""
    selection = bulk.selection_load(Delivery, token)
    return len(_resend_batch(selection, token=token, after=after, up_to=up_to).scheduled)


def _resend_batch(
    selection: QuerySet[Delivery], *, token: str | None, after: int, up_to: int
) -> Resent:
    """New attempts for the next batch of the selection, their tasks, and the walk's next task.

    All in one transaction: a batch and what follows it commit together or not at all. Two
    operators resending the same rows at once meet at the unique `previous`: the later batch
    is done again, and then finds those rows handled.
    """
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _resend_rows(selection, token=token, after=after, up_to=up_to)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _resend_rows(
    selection: QuerySet[Delivery], *, token: str | None, after: int, up_to: int
) -> Resent:
    rows, more = bulk.next_batch(
        resendable(selection).values(
            "pk", "integration_id", "contact_id", "contact_event_id", "event", "simulated"
        ),
        after=after,
        up_to=up_to,
        size=RESEND_BATCH,
    )
    now = timezone.now()
    created = Delivery.objects.bulk_create(
        Delivery(
            integration_id=row["integration_id"],
            contact_id=row["contact_id"],
            contact_event_id=row["contact_event_id"],
            event=row["event"],
            mode=DeliveryMode.BACKGROUND,
            attempt=1,
            previous_id=row["pk"],
            created_at=now,
            due_at=now,
            simulated=row["simulated"],
        )
        for row in rows
    )
    for chunk in bulk.batched([d.pk for d in created], RESEND_PER_TASK):
        enqueue_in_turn(deliver_pending, chunk)
    if more:
        bulk.walk_on(resend_walk, selection, token=token, last=rows[-1]["pk"], up_to=up_to)
    return Resent(scheduled=created, more=more)
