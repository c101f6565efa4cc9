"""Background work of the integrations app, run by `manage.py db_worker` (django-tasks-db)."""

from __future__ import annotations

from django_tasks import task

from integrations import services


@task()
def deliver_pending(delivery_ids: list[int]) -> int:
    """Send these pending deliveries in order (one event's, by ordinal); returns how many."""
    return services.deliveries_send(delivery_ids)
