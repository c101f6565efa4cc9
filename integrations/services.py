"""Configuration writes of the integrations app: save, copy, disable, enable, resume, triggers,
and versions (every change of a version's fields is one; restore).

What happens on events lives elsewhere: the lifecycle hook and blocking calls in `runtime`,
background deliveries, retries, sweep and resend in `dispatch`, delivery rows in `recording`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from configurator import audit
from configurator.changes import RowChanges
from configurator.choices import AuditOperation
from configurator.names import name_owner
from conversations.choices import Event
from integrations import versions
from integrations.credentials import authentications_replace, secrets_missing
from integrations.firing import trigger_rows
from integrations.models import (
    Integration,
    IntegrationAuthentication,
    IntegrationTrigger,
    IntegrationVersion,
)
from integrations.selectors import DatabaseReferences, integration_problems
from integrations.validation import (
    CleanAuthentication,
    IntegrationInput,
    clean_integration,
)
from queues.models import Queue

COPY_SUFFIX = "copy"


@dataclass(frozen=True)
class IntegrationSaved:
    """What a save did: the admin's history reads the authentication entries' changes."""

    integration: Integration
    authentications: RowChanges | None
    version: IntegrationVersion | None


def integration_save(
    *,
    integration: Integration,
    queues: Iterable[Queue] | None = None,
    authentications: Sequence[CleanAuthentication] | None = None,
    missing_secret_allowed: bool = False,
) -> Integration:
    """Store an integration whose input passed `validation.clean_integration`.

    `missing_secret_allowed` (a configuration import): new entries may come without their
    secret; the caller stores such an integration disabled.

    Saving with no event selected disables it (as Contact Pro did), with nothing to restore:
    Enable is refused until events are chosen. Choosing events does not enable it by itself;
    Enable does. The trigger rows are rebuilt here, and only here. A save that changes what a
    version holds is a new version.
    """
    return integration_save_with_changes(
        integration=integration,
        queues=queues,
        authentications=authentications,
        missing_secret_allowed=missing_secret_allowed,
    ).integration


def integration_save_with_changes(
    *,
    integration: Integration,
    queues: Iterable[Queue] | None = None,
    authentications: Sequence[CleanAuthentication] | None = None,
    restored_from: int | None = None,
    missing_secret_allowed: bool = False,
) -> IntegrationSaved:
    """`integration_save`, telling what it changed (for pages that show it, and restores)."""
    integration.events = _ordered_events(integration.events)
    if not integration.events:
        integration.enabled = False
    integration.full_clean(exclude=["queues"])
    changes = None
    with transaction.atomic():
        integration.save()
        if queues is not None:
            integration.queues.set(list(queues))
        if authentications is not None:
            changes = authentications_replace(
                integration=integration,
                entries=authentications,
                missing_secret_allowed=missing_secret_allowed,
            )
        triggers_rebuild(integration=integration)
        version = integration_version_record(integration=integration, restored_from=restored_from)
    return IntegrationSaved(integration=integration, authentications=changes, version=version)


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
        integration_version_record(integration=copy)
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


def integration_delete(*, integration: Integration) -> None:
    """Delete an integration with its entries, triggers and deliveries."""
    integration.delete()


def integration_disable(*, integration: Integration) -> bool:
    """Stop it firing, its events kept; False when it was already disabled."""
    if not integration.enabled:
        return False
    integration.enabled = False
    with transaction.atomic(), audit.operation(AuditOperation.DISABLE):
        integration.save(update_fields=["enabled", "updated_at"])
        integration_version_record(integration=integration)
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
    problems = integration_problems(integration) + [
        f"enter the secret of {entry} on its page" for entry in secrets_missing(integration)
    ]
    if problems:
        raise ValidationError(
            [f"“{integration}” cannot be enabled yet: {problems[0]}", *problems[1:]]
        )
    integration.enabled = True
    _pause_lift(integration)
    with transaction.atomic(), audit.operation(AuditOperation.ENABLE):
        integration.save(
            update_fields=[
                "enabled",
                "paused_at",
                "paused_reason",
                "consecutive_failures",
                "updated_at",
            ]
        )
        integration_version_record(integration=integration)
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


# --- Versions: what `integrations.versions` snapshots, written after every change -----------


def integration_snapshot(integration: Integration) -> dict[str, Any]:
    """What a version of the integration holds now, read from the database (not a prefetch)."""
    return versions.snapshot_of(
        {name: getattr(integration, name) for name in versions.PLAIN_FIELDS},
        queues=Queue.objects.filter(integrations=integration).values_list("pk", "name"),
        authentication_ids=IntegrationAuthentication.objects.filter(
            integration=integration
        ).values_list("authentication_id", flat=True),
    )


def integration_version_record(
    *, integration: Integration, restored_from: int | None = None
) -> IntegrationVersion | None:
    """A new version when the integration differs from its last one; None when it does not.

    Who and through what come from the audit trail's context (`configurator.audit`). Called
    inside the transaction of the change, after the integration's row was written: its row
    lock keeps two saves from taking the same number.
    """
    snapshot: Any = integration_snapshot(integration)
    last = (
        IntegrationVersion.objects.filter(integration=integration)
        .order_by("-number")
        .only("number", "snapshot")
        .first()
    )
    changed = [] if last is None else versions.changed_fields(last.snapshot, snapshot)
    if last is not None and not changed:
        return None
    actor = audit.current_actor()
    return IntegrationVersion.objects.create(
        integration=integration,
        number=1 if last is None else last.number + 1,
        snapshot=snapshot,
        changed=changed,
        user=actor,
        username=actor.get_username() if actor is not None else "",
        via=audit.current_via(),
        restored_from=restored_from,
    )


# What a restore leaves as it is now: turning an integration on or off is Enable's and
# Disable's (Enable refuses while a secret is missing), and someone may have disabled it since.
RESTORE_KEEPS = frozenset({"enabled"})


def integration_version_restore(*, integration: Integration, number: int) -> IntegrationSaved:
    """Make the integration what version `number` was, through the checks of a save.

    A version that no longer passes them (a queue deleted since, an event or a configuration
    no longer valid, a name taken since) raises ValidationError by field, and nothing changes.
    Authentication entries are left as they are (a version holds no secret): a configuration
    naming an entry removed since is refused for that reason. Whether it is enabled is left as
    it is too (RESTORE_KEEPS): enabling is Enable's, which first checks secrets and problems.
    A restore that changes something is a new version, "restored from `number`"; `version` is
    None when it changed nothing.
    """
    version = IntegrationVersion.objects.get(integration=integration, number=number)
    snapshot = version.snapshot
    target = Integration.objects.get(pk=integration.pk)
    for name in versions.PLAIN_FIELDS:
        if name in RESTORE_KEEPS:
            continue
        # A field added after the version was written keeps its current value.
        setattr(target, name, snapshot.get(name, getattr(target, name)))
    queues = _restored_queues(snapshot.get("queues", []))
    authentication_ids = list(
        target.authentications.order_by("authentication_id").values_list(
            "authentication_id", flat=True
        )
    )
    check = clean_integration(
        IntegrationInput.of(
            partial(getattr, target),
            queues=queues,
            authentication_ids=authentication_ids,
        ),
        references=DatabaseReferences(),
    )
    if not check.is_valid:
        raise ValidationError(check.errors)
    with audit.operation(AuditOperation.RESTORE, version=number), transaction.atomic():
        return integration_save_with_changes(
            integration=target, queues=queues, restored_from=number
        )


def _restored_queues(stored: list[dict[str, Any]]) -> list[Queue]:
    """The version's queues, each still there; else ValidationError naming those that are not."""
    wanted = [q["id"] for q in stored]
    found = {q.pk: q for q in Queue.objects.filter(pk__in=wanted)}
    missing = [q for q in stored if q["id"] not in found]
    if missing:
        raise ValidationError(
            {
                "queues": [
                    f"Queue “{q['name']}” (ID {q['id']}) no longer exists: choose the queues "
                    "on the integration's page instead."
                    for q in missing
                ]
            }
        )
    return [found[pk] for pk in wanted]
