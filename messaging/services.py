"""Writes of the messaging app: messaging services with their authentications, callback reruns."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from django.db import transaction
from django.db.models import Q

from configurator import housekeeping
from configurator.changes import RowChanges
from configurator.credentials import entries_replace
from messaging.choices import ApiAuthMethod, CallbackStatus
from messaging.models import Callback, MessagingService, ServiceAuthentication
from messaging.tasks import callback_wake
from messaging.validation import AUTHENTICATION_BLOCK, CleanAuthentication
from messaging.webhooks.ingest import webhook_secrets


def messaging_service_create(
    *,
    name: str,
    service_connection: str,
    type: str,
    authentications: Sequence[CleanAuthentication],
    auth_method: str = ApiAuthMethod.OAUTH2,
) -> MessagingService:
    """Create a service and its authentication entries (validated beforehand)."""
    service = MessagingService(
        name=name, service_connection=service_connection, type=type, auth_method=auth_method
    )
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
    auth_method: str | None = None,
    authentications: Sequence[CleanAuthentication] | None = None,
) -> MessagingService:
    """Change a service; a given authentication block replaces the stored one."""
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
            authentications_replace(service=service, entries=authentications)
    return service


def authentications_replace(
    *, service: MessagingService, entries: Sequence[CleanAuthentication]
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
    )
    transaction.on_commit(lambda: webhook_secrets.forget(service.pk))
    return changes


def callbacks_reprocess(*, callback_ids: Collection[int]) -> int:
    """Put callbacks back in the queue (after a fix, or to retry a failure); returns how many.

    One a worker is processing now (pending, with a live claim) is left to that worker: taking
    its claim away would have a second worker process it at the same time.
    """
    held = Q(status=CallbackStatus.PENDING, claimed_at__gte=housekeeping.lease_cutoff())
    with transaction.atomic():
        count = (
            Callback.objects.filter(pk__in=list(callback_ids))
            .exclude(held)
            .update(
                status=CallbackStatus.PENDING,
                status_reason="",
                processed_at=None,
                claimed_by="",
                claimed_at=None,
            )
        )
        transaction.on_commit(callback_wake)
    return count
