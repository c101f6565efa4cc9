"""Writes of the messaging app: messaging services with their authentications, callback reruns."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.db.models import QuerySet
from django_tasks import task

from configurator import bulk
from configurator.changes import RowChanges
from configurator.credentials import entries_replace
from messaging.choices import ApiAuthMethod, CallbackStatus, ReasonCode
from messaging.models import Callback, MessagingService, ServiceAuthentication
from messaging.validation import AUTHENTICATION_BLOCK, CleanAuthentication
from messaging.wake import callback_wake
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
