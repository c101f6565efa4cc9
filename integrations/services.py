"""Configuration writes of the integrations app: save, copy, disable, enable, resume, triggers.

What happens on events lives elsewhere: the lifecycle hook and blocking calls in `runtime`,
background deliveries, retries, sweep and resend in `dispatch`, delivery rows in `recording`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from configurator import audit
from configurator.choices import AuditOperation
from configurator.names import name_owner
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
    with transaction.atomic(), audit.operation(AuditOperation.COPY, original=integration.pk):
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
        if name_owner(Integration, candidate) is None:
            return candidate
        number += 1


def integration_disable(*, integration: Integration) -> bool:
    """Stop it firing, its events kept; False when it was already disabled."""
    if not integration.enabled:
        return False
    integration.enabled = False
    with audit.operation(AuditOperation.DISABLE):
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
    with audit.operation(AuditOperation.ENABLE):
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
    with audit.operation(AuditOperation.RESUME):
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


# --- Triggers: what `selectors.integrations_for_event` looks up (rows from `firing`) ---------


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
