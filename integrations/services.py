"""Writes of the integrations app: configuration (save, copy, disable, enable, resume), runtime.

The runtime: on every lifecycle event (a hook inside the event's transaction) the matching
integrations are selected; blocking ones (`response.set`, or `"block": true`) are called once the
event has committed, with no transaction open, and may steer the contact before the lifecycle
goes on; the others become pending deliveries that a worker claims and sends
(`deliveries_send`), retried with backoff, each attempt recorded; the workers' sweep takes over
a delivery whose worker stopped (`deliveries_sweep`).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from configurator import bulk, housekeeping, metrics, workers
from configurator.tasks import enqueue_in_turn
from conversations import lifecycle
from conversations.choices import ChannelType, Event
from conversations.models import Contact, ContactEvent
from conversations.selectors import contact_detail
from conversations.snapshot import contact_snapshot, iso
from integrations import tasks
from integrations.choices import (
    ECHO_ENDPOINT,
    SUPPORTED_EVENTS,
    DeliveryMode,
    DeliveryStatus,
    conversation_types,
)
from integrations.credentials import authentications_replace
from integrations.delivery import Execution, backoff_seconds, execute
from integrations.models import Delivery, Integration, IntegrationTrigger
from integrations.rendering import RenderContext
from integrations.selectors import (
    DatabaseTargets,
    integration_problems,
    integration_secrets,
    integrations_for_event,
)
from integrations.validation import CleanAuthentication
from queues.models import Queue

COPY_SUFFIX = "copy"

logger = logging.getLogger(__name__)


def integration_save(
    *,
    integration: Integration,
    queues: Iterable[Queue] | None = None,
    authentications: Sequence[CleanAuthentication] | None = None,
) -> Integration:
    """Store an integration whose input passed `validation.clean_integration`.

    Saving with no event selected disables it (as Contact Pro did), with nothing to restore:
    Enable is refused until events are chosen. Choosing events does not enable it by itself;
    Enable does. The trigger rows are rebuilt here, and only here.
    """
    integration.events = _ordered_events(integration.events)
    if not integration.events:
        integration.enabled = False
    integration.full_clean(exclude=["queues"])
    with transaction.atomic():
        integration.save()
        if queues is not None:
            integration.queues.set(list(queues))
        if authentications is not None:
            authentications_replace(integration=integration, entries=authentications)
        triggers_rebuild(integration=integration)
    return integration


def integration_copy(*, integration: Integration) -> Integration:
    """A new integration with everything but the authentications (seed 003).

    The copy is named "<name> (copy)", numbered when taken. It starts disabled, with the
    original's events: it has no credentials yet and would otherwise fire beside the original.
    Enable it once its authentications are added.
    """
    with transaction.atomic():
        copy = Integration(
            channel_type=integration.channel_type,
            name=_copy_name(integration.name),
            description=integration.description,
            endpoint_url=integration.endpoint_url,
            ordinal=integration.ordinal,
            direction=integration.direction,
            events=list(integration.events),
            enabled=False,
            direct_chats=integration.direct_chats,
            direct_calls=integration.direct_calls,
            configuration=integration.configuration,
        )
        copy.save()
        copy.queues.set(list(integration.queues.all()))
        triggers_rebuild(integration=copy)
    return copy


def _copy_name(name: str) -> str:
    max_length = Integration._meta.get_field("name").max_length or 100
    number = 1
    while True:
        suffix = f" ({COPY_SUFFIX})" if number == 1 else f" ({COPY_SUFFIX} {number})"
        candidate = name[: max_length - len(suffix)] + suffix
        if not Integration.objects.filter(name=candidate).exists():
            return candidate
        number += 1


def integration_disable(*, integration: Integration) -> bool:
    """Stop it firing, its events kept; False when it was already disabled."""
    if not integration.enabled:
        return False
    integration.enabled = False
    integration.save(update_fields=["enabled", "updated_at"])
    return True


def integration_enable(*, integration: Integration) -> bool:
    """Let it fire again, and lift a pause (as `enable/` always did); False if nothing changed.

    Refused (ValidationError) while the integration has problems, such as a copy whose
    authentications are not added yet, or when it has no events to fire on.
    """
    if integration.enabled:
        return integration_resume(integration=integration)
    if not integration.events:
        raise ValidationError(f"“{integration}” has no events: choose its events on its page.")
    problems = integration_problems(integration)
    if problems:
        raise ValidationError(
            [f"“{integration}” cannot be enabled yet: {problems[0]}", *problems[1:]]
        )
    integration.enabled = True
    _pause_lift(integration)
    integration.save(
        update_fields=[
            "enabled",
            "paused_at",
            "paused_reason",
            "consecutive_failures",
            "updated_at",
        ]
    )
    return True


def integration_resume(*, integration: Integration) -> bool:
    """Lift a pause after failures in a row (the count starts again); False if it was not paused.

    Whether it is enabled is left as it is: a disabled integration resumed stays disabled.
    """
    if integration.paused_at is None:
        return False
    _pause_lift(integration)
    integration.save(
        update_fields=["paused_at", "paused_reason", "consecutive_failures", "updated_at"]
    )
    return True


def _pause_lift(integration: Integration) -> None:
    integration.paused_at = None
    integration.paused_reason = ""
    integration.consecutive_failures = 0


def _ordered_events(events: Iterable[Any]) -> list[str]:
    """Events in lifecycle order without repeats, as the checkboxes show them."""
    chosen = set(events)
    return [event for event in Event.values if event in chosen]


# --- Triggers: what `selectors.integrations_for_event` looks up ----------------------------


def trigger_rows(
    *,
    channel_type: str,
    direction: str,
    events: Iterable[str],
    queues: Iterable[tuple[int, str]],
    direct_chats: bool,
    direct_calls: bool,
) -> list[tuple[str, str, str, int | None]]:
    """(event, conversation channel, direction, queue ID or None for direct) it fires on."""
    chosen = set(events)
    scopes = list(queues)
    rows: list[tuple[str, str, str, int | None]] = []
    for channel, way in conversation_types(channel_type, direction):
        targets: list[int | None] = [pk for pk, kind in scopes if kind == channel]
        if (channel == ChannelType.CHAT and direct_chats) or (
            channel == ChannelType.PHONE and direct_calls
        ):
            targets.append(None)
        for event in SUPPORTED_EVENTS[(channel, way)]:
            if event in chosen:
                rows.extend((event, channel, way, target) for target in targets)
    return rows


def triggers_rebuild(*, integration: Integration) -> None:
    """Make the integration's trigger rows match its events, direction and scope.

    Configuration only: whether it fires (enabled, not paused) is read by the lookup, so
    Disable, Enable and Resume leave these rows alone.
    """
    rows = trigger_rows(
        channel_type=integration.channel_type,
        direction=integration.direction,
        events=integration.events,
        queues=[(q.pk, q.channel_type) for q in integration.queues.all()],
        direct_chats=integration.direct_chats,
        direct_calls=integration.direct_calls,
    )
    with transaction.atomic():
        IntegrationTrigger.objects.filter(integration=integration).delete()
        IntegrationTrigger.objects.bulk_create(
            IntegrationTrigger(
                integration=integration,
                event=event,
                channel_type=channel,
                direction=way,
                queue_id=queue_id,
            )
            for event, channel, way, queue_id in rows
        )


# --- The runtime: lifecycle events -------------------------------------------------------------


def is_blocking(integration: Integration) -> bool:
    """Runs inline when its answer steers the conversation (`set`) or it asks to (`block`)."""
    configuration = integration.configuration or {}
    return bool((configuration.get("response") or {}).get("set")) or bool(
        (configuration.get("request") or {}).get("block")
    )


def event_context(entry: ContactEvent, contact: Mapping[str, Any]) -> RenderContext:
    """What placeholders read for this event: `{event.*}` and `{contact.*}`."""
    return RenderContext(
        event={"name": entry.event, "datetime": iso(entry.occurred_at), "id": str(entry.pk)},
        contact=contact,
    )


def contact_event_heard(contact: Contact, entry: ContactEvent, queue: Queue | None) -> None:
    """Lifecycle hook (inside the event's transaction): what fires on this event.

    Background integrations become pending deliveries, enqueued in this same transaction, so
    they exist exactly when the event does. Blocking ones are deferred until the event has
    committed (`lifecycle.defer`): they are called with no transaction open, in ordinal order,
    and their answers applied each in a short transaction of its own. Integrations past
    INTEGRATIONS_MAX_PER_EVENT are recorded as skipped.
    """
    matched = integrations_for_event(
        event=entry.event,
        channel_type=contact.channel_type,
        direction=contact.direction,
        queue_id=queue.pk if queue else None,
    )
    if not matched:
        return
    limit: int = settings.INTEGRATIONS_MAX_PER_EVENT
    firing, over = matched[:limit], matched[limit:]
    now = timezone.now()
    skipped = [
        _delivery(
            integration,
            contact,
            entry,
            now,
            status=DeliveryStatus.SKIPPED,
            error=(
                f"only the first {limit} integrations by ordinal fire on one event; this one "
                f"is number {limit + position + 1} (ordinal {integration.ordinal})"
            ),
            finished_at=now,
        )
        for position, integration in enumerate(over)
    ]
    blocking = [i for i in firing if is_blocking(i)]
    if blocking:
        contact_id, channel_type, snapshot = contact.pk, contact.channel_type, dict(entry.snapshot)
        lifecycle.defer(
            lambda: blocking_run(contact_id, entry, snapshot, blocking, channel_type=channel_type)
        )
    background = [
        _delivery(integration, contact, entry, now)
        for integration in firing
        if not is_blocking(integration)
    ]
    created = Delivery.objects.bulk_create([*background, *skipped])
    for delivery in skipped:
        _count_finished(delivery)
    pending = [d.pk for d in created[: len(background)]]
    if pending:
        enqueue_in_turn(tasks.deliver_pending, pending)


def _delivery(
    integration: Integration,
    contact: Contact,
    entry: ContactEvent,
    when: datetime,
    **fields: Any,
) -> Delivery:
    """A (not yet saved) delivery of `integration` for this event, in its mode."""
    mode = DeliveryMode.BLOCKING if is_blocking(integration) else DeliveryMode.BACKGROUND
    return Delivery(
        integration=integration,
        contact=contact,
        contact_event=entry,
        event=entry.event,
        mode=mode,
        created_at=when,
        due_at=when,
        **fields,
    )


def blocking_run(
    contact_id: str,
    entry: ContactEvent,
    snapshot: dict[str, Any],
    integrations: list[Integration],
    *,
    channel_type: str,
) -> None:
    """Call blocking integrations in ordinal order, with no transaction open.

    Each answer is applied in a short transaction on the locked contact: each `set` key goes to
    the first integration that sets it, `save` merges in order, and the next integration sees
    the contact as the earlier ones left it.
    """
    secrets = integration_secrets([i.pk for i in integrations])
    targets = DatabaseTargets()
    done: set[str] = set()
    changed = False
    for integration in integrations:
        # The work this belongs to (a claimed callback) keeps its claim while the call runs.
        housekeeping.keep_claim()
        started = timezone.now()
        execution = execute(
            configuration=integration.configuration,
            endpoint_url=integration.endpoint_url,
            context=event_context(entry, snapshot),
            secrets=secrets[integration.pk],
            targets=targets,
            channel_type=channel_type,
            echo_data=snapshot,
            integration_id=integration.pk,
        )
        with transaction.atomic():
            contact = Contact.objects.select_for_update(of=("self",)).get(pk=contact_id)
            applied: dict[str, Any] = {}
            if execution.succeeded:
                late = _routed_meanwhile(contact, entry, execution)
                applied = _apply(contact, execution, skip_set=done | set(late))
                applied.update({"not applied": late} if late else {})
                done.update(applied.get("set", {}))
                if applied:
                    changed = True
                    snapshot = contact_snapshot(contact)
            _record(_delivery(integration, contact, entry, started), execution, applied)
    if changed:
        # The event's snapshot shows the contact as its blocking integrations left it.
        ContactEvent.objects.filter(pk=entry.pk).update(snapshot=snapshot)


def _routed_meanwhile(
    contact: Contact, entry: ContactEvent, execution: Execution
) -> dict[str, str]:
    """A Received answer's queue comes too late once the conversation was queued meanwhile."""
    if (
        entry.event != Event.RECEIVED
        or "queue" not in execution.set_values
        or lifecycle.phase(contact) is lifecycle.Phase.NEW
    ):
        return {}
    return {"queue": "the conversation was queued before this answer came"}


def _apply(contact: Contact, execution: Execution, *, skip_set: set[str]) -> dict[str, Any]:
    """Apply an answer's `set` (keys no earlier integration set) and `save` to the contact."""
    applied: dict[str, Any] = {}
    fields: list[str] = []
    done: dict[str, Any] = {}
    for key, value in execution.set_values.items():
        if key in skip_set:
            continue
        if key == "priority":
            contact.priority = value
            fields.append("priority")
            done[key] = value
        elif key == "queue":
            contact.queue = value
            fields.append("queue")
            done[key] = {"id": value.pk, "name": value.name}
        elif key == "preferredAgent":
            contact.preferred_agent = value
            fields.append("preferred_agent")
            done[key] = {"id": value.pk, "name": value.name}
        elif key == "requiredAgents":
            contact.required_agents.set(value["agents"])
            getattr(contact, "_prefetched_objects_cache", {}).pop("required_agents", None)
            timeout = value["timeout"]
            contact.required_agents_expiry = (
                timezone.now() + timedelta(seconds=timeout) if timeout else None
            )
            fields.append("required_agents_expiry")
            done[key] = {
                "agents": [{"id": a.pk, "name": a.name} for a in value["agents"]],
                "expiry": iso(contact.required_agents_expiry),
            }
    if done:
        applied["set"] = done
    if execution.save_values:
        contact.cad = {**(contact.cad or {}), **execution.save_values}
        fields.append("cad")
        applied["save"] = execution.save_values
    if fields:
        contact.save(update_fields=fields)
    return applied


def _record(delivery: Delivery, execution: Execution, applied: Mapping[str, Any]) -> Delivery:
    """Fill a delivery from what happened and store it; a success resets the failure count."""
    delivery.status = execution.status
    delivery.request = execution.request
    delivery.status_code = execution.status_code
    delivery.duration_ms = execution.duration_ms
    delivery.response_excerpt = execution.response_excerpt
    delivery.error = execution.error
    delivery.applied = dict(applied)
    delivery.finished_at = timezone.now()
    delivery.save()
    if delivery.status == DeliveryStatus.SUCCEEDED and delivery.integration.consecutive_failures:
        _failures_reset(delivery.integration_id)
    _count_finished(delivery, since_event=delivery.contact_event.occurred_at)
    logger.info(
        "delivery %s of integration %s %s (HTTP %s, %s ms)",
        delivery.pk,
        delivery.integration_id,
        delivery.status,
        delivery.status_code or "-",
        delivery.duration_ms if delivery.duration_ms is not None else "-",
        extra={"integration_id": delivery.integration_id, "contact_id": delivery.contact_id},
    )
    return delivery


def _count_finished(delivery: Delivery, *, since_event: datetime | None = None) -> None:
    """Count a finished delivery for /metrics once its transaction commits.

    The status is read at the commit: a failure whose next attempt was scheduled meanwhile
    counts as `retrying`.
    """

    def count() -> None:
        duration = delivery.duration_ms / 1000 if delivery.duration_ms is not None else None
        finished = delivery.finished_at or timezone.now()
        metrics.delivery_finished(
            integration_id=delivery.integration_id,
            status=str(delivery.status),
            mode=str(delivery.mode),
            duration_seconds=duration,
            latency_seconds=(finished - since_event).total_seconds() if since_event else None,
        )

    transaction.on_commit(count)


def _failures_reset(integration_id: int) -> None:
    Integration.objects.filter(pk=integration_id, consecutive_failures__gt=0).update(
        consecutive_failures=0
    )


def _failure_count(integration_id: int, error: str) -> None:
    """One more final failure in a row; pause the integration when there are too many."""
    Integration.objects.filter(pk=integration_id).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    threshold: int = settings.INTEGRATIONS_PAUSE_AFTER_FAILURES
    Integration.objects.filter(
        pk=integration_id, paused_at__isnull=True, consecutive_failures__gte=threshold
    ).update(
        paused_at=timezone.now(),
        paused_reason=(
            f"{threshold} deliveries in a row failed; the last: {error}"[:1000]
            + " Resume the integration once the endpoint works."
        ),
    )


# --- The runtime: background deliveries --------------------------------------------------------


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
        why = "paused" if integration.paused_at is not None else "disabled"
        delivery.status = DeliveryStatus.SKIPPED
        delivery.error = f"the integration was {why} before this delivery was sent"
        delivery.finished_at = timezone.now()
        delivery.save(update_fields=["status", "error", "finished_at"])
        _count_finished(delivery)
        return
    entry = delivery.contact_event
    secrets = integration_secrets([integration.pk])[integration.pk]
    current: dict[str, Any] | None = None
    if integration.endpoint_url.strip() == ECHO_ENDPOINT:
        current = contact_snapshot(contact_detail().get(pk=delivery.contact_id))
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
            contact = Contact.objects.select_for_update(of=("self",)).get(pk=delivery.contact_id)
            contact.cad = {**(contact.cad or {}), **execution.save_values}
            contact.save(update_fields=["cad"])
            applied = {"save": execution.save_values}
        _record(delivery, execution, applied)
        if delivery.status == DeliveryStatus.FAILED:
            if execution.retryable and delivery.attempt < settings.INTEGRATIONS_MAX_ATTEMPTS:
                _retry_later(delivery, execution)
            else:
                _failure_count(integration.pk, execution.error)


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
    )
    enqueue_in_turn(tasks.deliver_pending, [following.pk], run_after=due)
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
    if workers.tasks_waiting(tasks.deliver_pending.module_path):
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
        enqueue_in_turn(tasks.deliver_pending, overdue)
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
    _count_finished(delivery)
    if delivery.mode == DeliveryMode.BACKGROUND and (
        delivery.attempt < settings.INTEGRATIONS_MAX_ATTEMPTS
    ):
        delivery.status = DeliveryStatus.RETRYING
        delivery.error = f"{error}; attempt {delivery.attempt + 1} now"
        delivery.save(update_fields=["status", "error", "finished_at"])
        _schedule(delivery, attempt=delivery.attempt + 1, due=timezone.now())
        return
    delivery.save(update_fields=["status", "error", "finished_at"])
    _failure_count(delivery.integration_id, error)


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
    when asked, is walked by `tasks.resend_walk` in the background (`configurator.bulk`).
    """
    return _resend_batch(selection, token=None, after=0, up_to=bulk.highest_key(Delivery))


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
            "pk", "integration_id", "contact_id", "contact_event_id", "event"
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
        )
        for row in rows
    )
    for chunk in bulk.batched([d.pk for d in created], RESEND_PER_TASK):
        enqueue_in_turn(tasks.deliver_pending, chunk)
    if more:
        bulk.walk_on(tasks.resend_walk, selection, token=token, last=rows[-1]["pk"], up_to=up_to)
    return Resent(scheduled=created, more=more)
