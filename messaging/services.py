"""Writes of the messaging app: messaging services with their authentications, callback reruns."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_tasks import task

from configurator import audit, bulk
from configurator.changes import RowChanges
from configurator.choices import AuditOperation
from configurator.credentials import entries_replace
from messaging.choices import ApiAuthMethod, AuthenticationDirection, CallbackStatus, ReasonCode
from messaging.models import Callback, MessagingService, ServiceAuthentication
from messaging.validation import AUTHENTICATION_BLOCK, CleanAuthentication, rotation_problems
from messaging.wake import callback_wake
from messaging.webhooks.secrets import webhook_secrets


def messaging_service_create(
    *,
    name: str,
    service_connection: str,
    type: str,
    authentications: Sequence[CleanAuthentication],
    auth_method: str = ApiAuthMethod.OAUTH2,
    enabled: bool = True,
    missing_secret_allowed: bool = False,
) -> MessagingService:
    """Create a service and its authentication entries (validated beforehand).

    `missing_secret_allowed` (a configuration import): entries may come without their secret;
    the service must then be created disabled.
    """
    service = MessagingService(
        name=name,
        service_connection=service_connection,
        type=type,
        auth_method=auth_method,
        enabled=enabled,
    )
    service.full_clean()
    with transaction.atomic():
        service.save()
        authentications_replace(
            service=service, entries=authentications, missing_secret_allowed=missing_secret_allowed
        )
        _enabled_check(service)
    return service


def messaging_service_update(
    *,
    service: MessagingService,
    name: str | None = None,
    service_connection: str | None = None,
    type: str | None = None,
    auth_method: str | None = None,
    authentications: Sequence[CleanAuthentication] | None = None,
    enabled: bool | None = None,
    missing_secret_allowed: bool = False,
) -> MessagingService:
    """Change a service; a given authentication block replaces the stored one."""
    if type is not None:
        service.type = type
    if enabled is not None:
        service.enabled = enabled
    if name is not None:
        service.name = name
    if service_connection is not None:
        service.service_connection = service_connection
    if auth_method is not None:
        service.auth_method = auth_method
    service.full_clean()
    with transaction.atomic():
        service.save()
        if authentications is not None:
            authentications_replace(
                service=service,
                entries=authentications,
                missing_secret_allowed=missing_secret_allowed,
            )
        _enabled_check(service)
    transaction.on_commit(lambda: webhook_secrets.forget(service.pk))
    return service


def secrets_missing(service: MessagingService) -> list[str]:
    """The IDs of the service's entries stored without a secret (imported without it)."""
    return sorted(
        service.authentications.filter(secret__isnull=True).values_list(
            "authentication_id", flat=True
        )
    )


def _enabled_check(service: MessagingService) -> None:
    """An enabled service has every secret: refuse (rolling back) while one is missing."""
    if not service.enabled:
        return
    missing = secrets_missing(service)
    if missing:
        raise ValidationError(
            {
                "enabled": [
                    f"Enter the secret of {entry}, then enable the service." for entry in missing
                ]
            }
        )


def messaging_service_delete(*, service: MessagingService) -> None:
    """Delete a service with its entries and callbacks (its queues' apps then belong to none)."""
    service_id = service.pk
    service.delete()
    transaction.on_commit(lambda: webhook_secrets.forget(service_id))


def authentications_replace(
    *,
    service: MessagingService,
    entries: Sequence[CleanAuthentication],
    missing_secret_allowed: bool = False,
) -> RowChanges:
    """Make the service's entries exactly `entries`; an entry without a secret keeps its own.

    Entries match by key (outbound by KEYID@APPID, the inbound one by direction) through the
    shared `configurator.credentials.entries_replace`; every process forgets the service's
    cached webhook secret once the change is committed.
    """
    changes = entries_replace(
        block=AUTHENTICATION_BLOCK,
        stored=service.authentications.all(),
        entries=entries,
        new_row=lambda: ServiceAuthentication(service=service),
        missing_secret_allowed=missing_secret_allowed,
    )
    if any(e.direction == AuthenticationDirection.INBOUND and e.secret for e in entries):
        # A webhook secret replaced here, not rotated, ends any overlap: the earlier secrets
        # stop verifying with the one replaced (the way to cut off a leaked secret).
        ServiceAuthentication.objects.filter(
            service=service, direction=AuthenticationDirection.INBOUND
        ).update(previous_secret=None, previous_secret_expires_at=None)
    transaction.on_commit(lambda: webhook_secrets.forget(service.pk))
    return changes


def webhook_secret_rotate(
    *, service: MessagingService, secret: str, overlap_hours: int
) -> ServiceAuthentication:
    """Make `secret` the webhook secret; the one it replaces verifies `overlap_hours` longer.

    The overlap is the time to give Sinch the new secret (the setup doctor's fix pushes it, with
    `webhook_secret_to_push`; or the administrator pastes it into Sinch's dashboard).
    Only one previous secret is kept, so a rotation during an overlap is refused
    (`_rotation_allowed`): it would cut off the secret Sinch may still sign with. An overlap of 0
    keeps no previous secret. Every process uses the change within WebhookSecretCache.ttl seconds.
    """
    problems = rotation_problems(secret, overlap_hours)
    if problems:
        raise ValidationError(problems)
    with (
        transaction.atomic(),
        audit.operation(AuditOperation.ROTATE_SECRET, overlap_hours=overlap_hours),
    ):
        entry = (
            ServiceAuthentication.objects.select_for_update()
            .filter(service=service, direction=AuthenticationDirection.INBOUND)
            .first()
        )
        if entry is None:
            raise ValidationError(
                {"secret": ["The service has no inbound (webhook) entry: add it first."]}
            )
        _rotation_allowed(entry, secret)
        if overlap_hours:
            entry.previous_secret = entry.secret
            entry.previous_secret_expires_at = timezone.now() + timedelta(hours=overlap_hours)
        else:
            entry.previous_secret = None
            entry.previous_secret_expires_at = None
        entry.secret = secret
        entry.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
        MessagingService.objects.filter(pk=service.pk).update(updated_at=timezone.now())
        transaction.on_commit(lambda: webhook_secrets.forget(service.pk))
    service.refresh_from_db(fields=["updated_at"])
    return entry


def _rotation_allowed(entry: ServiceAuthentication, secret: str) -> None:
    """Refuse a rotation that would cut off a secret Sinch may still sign with.

    Only one previous secret is kept: a second rotation during an overlap would drop the
    secret before the current one at once, though Sinch may not have been given the current
    one yet (a double submit, or a retried request, does the same with the same secret).
    """
    if entry.secret is not None and entry.secret.reveal() == secret:
        raise ValidationError({"secret": ["This is the current webhook secret: choose a new one."]})
    until = entry.previous_secret_expires_at
    if entry.previous_secret is not None and until is not None and until > timezone.now():
        raise ValidationError(
            {
                "secret": [
                    f"The last rotation's overlap runs until {until:%Y-%m-%d %H:%M} UTC: until "
                    "then Sinch may still sign with the secret before the current one. Rotate "
                    "again once it has ended, or, to cut every earlier secret off now (a leaked "
                    "one), replace the webhook secret in the service's authentications."
                ]
            }
        )


def webhook_secret_generate() -> str:
    """A new random webhook secret (256 bits, URL-safe), for an administrator who has none."""
    return secrets.token_urlsafe(32)


def webhook_secret_to_push(*, service: MessagingService) -> str | None:
    """The webhook secret Sinch must be given (the current one), or None without an entry.

    The setup doctor's fix sets it on the apps' webhooks through the Conversation API (after a
    rotation: the new one, so that Sinch signs with it before the overlap ends).
    """
    entry = service.authentications.filter(direction=AuthenticationDirection.INBOUND).first()
    return None if entry is None or entry.secret is None else entry.secret.reveal()


# Callbacks put back in the queue per batch (one UPDATE of this many IDs).
REPROCESS_BATCH = 1000


def callbacks_reprocess(*, selection: QuerySet[Callback]) -> bulk.Started:
    """Put the selected callbacks back in the queue (after a fix, or to retry a failure).

    Pending ones are left as they are: waiting ones are queued already, and one a worker is
    processing now is that worker's (taking its claim away would have a second worker process
    it at the same time; one whose worker stopped is taken over by the sweep). So asking twice
    queues nothing twice. The request does the first REPROCESS_BATCH (oldest first) and
    answers; the task `reprocess_walk` queues the rest of the selection in the background, as far
    as it reached when asked (`configurator.bulk`).
    """
    return _reprocess_batch(selection, token=None, after=0, up_to=bulk.highest_key(Callback))


@task()
def reprocess_walk(selection: str, after: int, up_to: int) -> int:
    """Queue the next batch of an operator's reprocess; enqueues itself for the batch after.

    The task lives beside the batch it runs, which enqueues it again: in a module of its own,
    the two would import each other.
    """
    loaded = bulk.selection_load(Callback, selection)
    return _reprocess_batch(loaded, token=selection, after=after, up_to=up_to).done


# Rows queued before the walk moved here name it `messaging.tasks.reprocess_walk` (which still
# resolves): both paths are resumable (apps.py).
REPROCESS_WALK_PATHS = (reprocess_walk.module_path, "messaging.tasks.reprocess_walk")


def _reprocess_batch(
    selection: QuerySet[Callback], *, token: str | None, after: int, up_to: int
) -> bulk.Started:
    """Queue the next batch again and enqueue the walk's next step, in one transaction."""
    with transaction.atomic():
        ids, more = bulk.next_batch(
            selection.exclude(status=CallbackStatus.PENDING).values_list("pk", flat=True),
            after=after,
            up_to=up_to,
            size=REPROCESS_BATCH,
        )
        count = (
            Callback.objects.filter(pk__in=ids)
            .exclude(status=CallbackStatus.PENDING)
            .update(
                status=CallbackStatus.PENDING,
                status_reason="",
                reason_code=ReasonCode.NONE,
                processed_at=None,
                claimed_by="",
                claimed_at=None,
            )
        )
        if count:
            transaction.on_commit(callback_wake)
        if more:
            bulk.walk_on(reprocess_walk, selection, token=token, last=ids[-1], up_to=up_to)
    return bulk.Started(done=count, more=more)
