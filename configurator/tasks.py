"""Enqueueing background tasks so that the workers run them in the order they became due."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django_tasks.base import Task, TaskResult


def enqueue_in_turn(
    task: Task[..., Any], *args: Any, run_after: datetime | None = None
) -> TaskResult[Any]:
    """Enqueue `task` due now (or at `run_after`), first come first served.

    django-tasks-db orders ready tasks by priority, then due time; a task enqueued without a
    time sorts after every task that has one. Integration deliveries would then starve behind
    the steady stream of callback wake-ups and retries that carry a time: giving every task its
    time keeps one order for all.
    """
    return task.using(run_after=run_after or timezone.now()).enqueue(*args)
