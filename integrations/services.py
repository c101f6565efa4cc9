"""Configuration writes of the integrations app: save, copy, disable, enable, trigger rows.

What happens on events lives elsewhere: the lifecycle hook and blocking calls in `runtime`,
background deliveries, retries, sweep and resend in `dispatch`, delivery rows in `recording`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from conversations.choices import Event
from integrations.credentials import authentications_replace
from integrations.firing import trigger_rows
from integrations.models import Integration, IntegrationTrigger
from integrations.selectors import integration_problems
from integrations.validation import CleanAuthentication
from queues.models import Queue

COPY_SUFFIX = "copy"


def integration_save(
    *,
    integration: Integration,
    queues: Iterable[Queue] | None = None,
    authentications: Sequence[CleanAuthentication] | None = None,
) -> Integration:
    """Store an integration whose input passed `validation.clean_integration`.

    Deselecting every event disables it, as in Contact Pro: the events it had are kept, so
    that Enable brings them back. Selecting events again forgets them.
    """
    if integration.pk is not None:
        before = Integration.objects.filter(pk=integration.pk).values_list("events", flat=True)
        previous = before.first() or []
        if not integration.events and previous:
            integration.disabled_events = list(previous)
    if integration.events:
        integration.disabled_events = []
    integration.events = _ordered_events(integration.events)
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
    original's events remembered: it has no credentials yet and would otherwise fire beside
    the original. Enable restores the events once its authentications are added.
    """
    with transaction.atomic():
        copy = Integration(
            channel_type=integration.channel_type,
            name=_copy_name(integration.name),
            description=integration.description,
            endpoint_url=integration.endpoint_url,
            ordinal=integration.ordinal,
            direction=integration.direction,
            events=[],
            disabled_events=list(integration.events or integration.disabled_events),
            direct_chats=integration.direct_chats,
            direct_calls=integration.direct_calls,
            configuration=integration.configuration,
        )
        copy.save()
        copy.queues.set(list(integration.queues.all()))
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
    """Deselect all events, remembering them; False when it was already disabled."""
    if not integration.events:
        return False
    integration.disabled_events = list(integration.events)
    integration.events = []
    with transaction.atomic():
        integration.save(update_fields=["events", "disabled_events", "updated_at"])
        triggers_rebuild(integration=integration)
    return True


def integration_enable(*, integration: Integration) -> bool:
    """Restore the events it had before it was disabled, or lift a pause; False if it was enabled.

    Refused (ValidationError) while the integration has problems, such as a copy whose
    authentications are not added yet, or when there are no events to restore.
    """
    if integration.paused_at is not None and integration.events:
        integration.paused_at = None
        integration.paused_reason = ""
        integration.consecutive_failures = 0
        integration.save(
            update_fields=["paused_at", "paused_reason", "consecutive_failures", "updated_at"]
        )
        return True
    if integration.events:
        return False
    if not integration.disabled_events:
        raise ValidationError(
            f"“{integration}” has no events to restore: choose its events on its page."
        )
    problems = integration_problems(integration)
    if problems:
        raise ValidationError(
            [f"“{integration}” cannot be enabled yet: {problems[0]}", *problems[1:]]
        )
    integration.events = _ordered_events(integration.disabled_events)
    integration.disabled_events = []
    integration.paused_at = None
    integration.paused_reason = ""
    integration.consecutive_failures = 0
    with transaction.atomic():
        integration.save(
            update_fields=[
                "events",
                "disabled_events",
                "paused_at",
                "paused_reason",
                "consecutive_failures",
                "updated_at",
            ]
        )
        triggers_rebuild(integration=integration)
    return True


def _ordered_events(events: Iterable[Any]) -> list[str]:
    """Events in lifecycle order without repeats, as the checkboxes show them."""
    chosen = set(events)
    return [event for event in Event.values if event in chosen]


# --- Triggers: what `selectors.integrations_for_event` looks up (rows from `firing`) ---------


def triggers_rebuild(*, integration: Integration) -> None:
    """Make the integration's trigger rows match its events, direction and scope."""
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
