"""Background work of the integrations app, run by `manage.py db_worker` (django-tasks-db)."""

from __future__ import annotations

from django_tasks import task

from configurator import bulk
from integrations import services


@task()
def deliver_pending(delivery_ids: list[int]) -> int:
    """Send these pending deliveries in order (one event's, by ordinal); returns how many."""
    return services.deliveries_send(delivery_ids)


@task()
def resend_walk(selection: str, after: int, up_to: int) -> int:
    """Send the next batch of an operator's resend again; enqueues itself for the batch after."""
    return services.deliveries_resend_walk(selection, after, up_to)


bulk.resumable(resend_walk.module_path)
