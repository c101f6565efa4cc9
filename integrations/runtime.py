"""The integrations' lifecycle hook and the blocking calls it defers.

On every lifecycle event (`contact_event_heard`, inside the event's transaction) the matching
integrations are selected: background ones become pending deliveries for `dispatch`, blocking
ones (`response.set`, or `"block": true`) are called once the event has committed, with no
transaction open (`blocking_run`), and their answers steer the contact through the services of
`conversations` (`contact_steer`, `contact_data_attach`). Each call is recorded (`recording`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from configurator import housekeeping
from configurator.tasks import enqueue_in_turn
from conversations import lifecycle
from conversations.choices import Event
from conversations.models import Contact, ContactEvent
from conversations.selectors import contact_detail
from conversations.services import (
    RoutingDecision,
    Steered,
    contact_data_attach,
    contact_event_snapshot_refresh,
    contact_steer,
)
from conversations.snapshot import contact_snapshot
from integrations.choices import DeliveryStatus
from integrations.delivery import Execution, event_context, execute, is_blocking
from integrations.dispatch import deliver_pending
from integrations.models import Delivery, Integration
from integrations.recording import (
    count_finished,
    delivery_new,
    delivery_record,
)
from integrations.selectors import DatabaseTargets, integration_secrets, integrations_for_event
from integrations.set_keys import set_decision, set_recorded
from queues.models import Queue


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
        delivery_new(
            integration,
            contact.pk,
            entry,
            now,
            status=DeliveryStatus.SKIPPED,
            error=(
                f"only the first {limit} integrations by ordinal fire on one event; this one "
                f"is number {limit + position + 1} (ordinal {integration.ordinal})"
            ),
            finished_at=now,
            simulated=contact.simulated,
        )
        for position, integration in enumerate(over)
    ]
    blocking = [i for i in firing if is_blocking(i.configuration)]
    if blocking:
        contact_id, channel_type, snapshot = contact.pk, contact.channel_type, dict(entry.snapshot)
        simulated = contact.simulated
        lifecycle.defer(
            lambda: blocking_run(
                contact_id,
                entry,
                snapshot,
                blocking,
                channel_type=channel_type,
                simulated=simulated,
            )
        )
    background = [
        delivery_new(integration, contact.pk, entry, now, simulated=contact.simulated)
        for integration in firing
        if not is_blocking(integration.configuration)
    ]
    created = Delivery.objects.bulk_create([*background, *skipped])
    for delivery in skipped:
        count_finished(delivery)
    pending = [d.pk for d in created[: len(background)]]
    if pending:
        enqueue_in_turn(deliver_pending, pending)


def blocking_run(
    contact_id: str,
    entry: ContactEvent,
    snapshot: dict[str, Any],
    integrations: list[Integration],
    *,
    channel_type: str,
    simulated: bool = False,
) -> None:
    """Call blocking integrations in ordinal order, with no transaction open.

    Each answer is applied in a short transaction: each `set` key goes to the first integration
    that sets it, `save` merges in order, and the next integration sees the contact as the
    earlier ones left it. `simulated`: the contact is the simulator's (the deliveries say so).
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
            applied: dict[str, Any] = {}
            if execution.succeeded:
                applied = answer_apply(contact_id, entry, execution, skip_set=done)
                done.update(applied.get("set", {}))
            if applied.get("set") or applied.get("save"):
                changed = True
                snapshot = contact_snapshot(contact_detail().get(pk=contact_id))
            delivery_record(
                delivery_new(integration, contact_id, entry, started, simulated=simulated),
                execution,
                applied,
            )
    if changed:
        # The event's snapshot shows the contact as its blocking integrations left it.
        contact_event_snapshot_refresh(event=entry, snapshot=snapshot)


def answer_apply(
    contact_id: str, entry: ContactEvent, execution: Execution, *, skip_set: set[str]
) -> dict[str, Any]:
    """Hand an answer's `set` (keys no earlier integration set) and `save` to `conversations`.

    Returns what was applied, as the delivery records it: `set`, `save`, and `not applied`
    for a Received answer's queue that came after the conversation was queued.
    """
    applied: dict[str, Any] = {}
    wanted = {k: v for k, v in execution.set_values.items() if k not in skip_set}
    if wanted:
        steered: Steered = contact_steer(
            contact_id=contact_id,
            decision=RoutingDecision(**set_decision(wanted)),
            queue_while_new=entry.event == Event.RECEIVED,
        )
        recorded = set_recorded(list(wanted), steered)
        if recorded:
            applied["set"] = recorded
        if steered.refused:
            applied["not applied"] = dict(steered.refused)
    if execution.save_values:
        applied["save"] = contact_data_attach(contact_id=contact_id, data=execution.save_values)
    return applied
