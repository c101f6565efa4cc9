"""Writes of the messaging app: messaging services with their authentications, callback reruns."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from django.db import transaction

from messaging.choices import CallbackStatus
from messaging.models import Callback, MessagingService, ServiceAuthentication
from messaging.tasks import callback_wake
from messaging.validation import CleanAuthentication, entry_match_key
from messaging.webhooks.ingest import webhook_secrets


def messaging_service_create(
    *,
    name: str,
    service_connection: str,
    type: str,
    authentications: Sequence[CleanAuthentication],
) -> MessagingService:
    """Create a service and its authentication entries (validated beforehand)."""
    service = MessagingService(name=name, service_connection=service_connection, type=type)
    service.full_clean()
    with transaction.atomic():
        service.save()
        authentications_replace(service=service, entries=authentications)
    return service


def messaging_service_update(
    *,
    service: MessagingService,
    name: str | None = None,
    service_connection: str | None = None,
    authentications: Sequence[CleanAuthentication] | None = None,
) -> MessagingService:
    """Change a service; a given authentication block replaces the stored one."""
    if name is not None:
        service.name = name
    if service_connection is not None:
        service.service_connection = service_connection
    service.full_clean()
    with transaction.atomic():
        service.save()
        if authentications is not None:
            authentications_replace(service=service, entries=authentications)
    return service


def authentications_replace(
    *, service: MessagingService, entries: Sequence[CleanAuthentication]
) -> None:
    """Make the service's entries exactly `entries`; an entry without a secret keeps its own."""
    existing = {
        entry_match_key(a.direction, a.authentication_id): a for a in service.authentications.all()
    }
    keep: set[int] = set()
    pending: list[ServiceAuthentication] = []
    for entry in entries:
        row = existing.get(entry.match_key) or ServiceAuthentication(service=service)
        row.direction = entry.direction
        row.authentication_id = entry.authentication_id
        row.key_id = entry.key_id
        row.app_id = entry.app_id
        row.triggers = entry.triggers
        if entry.secret is not None:
            row.secret = entry.secret
        if row.pk:
            keep.add(row.pk)
        pending.append(row)
    # Delete first so that an app or the inbound entry can move between rows without
    # tripping the unique constraints.
    service.authentications.exclude(pk__in=keep).delete()
    for row in pending:
        row.save()
    transaction.on_commit(lambda: webhook_secrets.forget(service.pk))


def callbacks_reprocess(*, callback_ids: Collection[int]) -> int:
    """Put callbacks back in the queue (after a fix, or to retry a failure); returns how many."""
    with transaction.atomic():
        count = Callback.objects.filter(pk__in=list(callback_ids)).update(
            status=CallbackStatus.PENDING, status_reason="", processed_at=None
        )
        transaction.on_commit(callback_wake)
    return count
