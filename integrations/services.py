"""Writes of the integrations app: save (with authentications), copy, disable and enable."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from configurator.changes import RowChanges
from conversations.choices import Event
from integrations.models import Integration, IntegrationAuthentication
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
    return integration


def authentications_replace(
    *, integration: Integration, entries: Sequence[CleanAuthentication]
) -> RowChanges:
    """Make the entries exactly `entries`; one given without a secret keeps its stored one."""
    changes = RowChanges()
    existing = {a.authentication_id: a for a in integration.authentications.all()}
    wanted = {entry.authentication_id for entry in entries}
    for authentication_id, row in existing.items():
        if authentication_id not in wanted:
            row.delete()
            changes.deleted.append(row)
    for entry in entries:
        stored = existing.get(entry.authentication_id)
        if stored is None:
            if entry.secret is None:
                raise ValueError(f"{entry.authentication_id}: a new entry needs its secret")
            row = IntegrationAuthentication(
                integration=integration,
                authentication_id=entry.authentication_id,
                type=entry.type,
                secret=entry.secret,
            )
            row.save()
            changes.created.append(row)
        elif entry.secret is not None:
            stored.secret = entry.secret
            stored.save(update_fields=["secret"])
            changes.changed.append((stored, ["secret"]))
    return changes


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
    integration.save(update_fields=["events", "disabled_events", "updated_at"])
    return True


def integration_enable(*, integration: Integration) -> bool:
    """Restore the events it had before it was disabled; False when it was already enabled.

    Refused (ValidationError) while the integration has problems, such as a copy whose
    authentications are not added yet, or when there are no events to restore.
    """
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
    integration.save(update_fields=["events", "disabled_events", "updated_at"])
    return True


def _ordered_events(events: Iterable[Any]) -> list[str]:
    """Events in lifecycle order without repeats, as the checkboxes show them."""
    chosen = set(events)
    return [event for event in Event.values if event in chosen]
