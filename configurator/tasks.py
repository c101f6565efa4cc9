"""Enqueueing background tasks so that the workers run them in the order they became due."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django_tasks.base import Task, TaskResult


def enqueue_in_turn(
    task: Task[..., Any], *args: Any, run_after: datetime | None = None
) -> TaskResult[Any]:
    """Enqueue `task` due now (or at `run_after`), first come first served within its priority.

    django-tasks-db orders ready tasks by priority, then due time; a task enqueued without a
    time sorts after every task that has one. Deliveries of the same priority would then starve
    behind retries that carry a time: giving every task its time keeps one order, and only a
    task's declared priority (callback processing) goes ahead of it.
    """
    return task.using(run_after=run_after or timezone.now()).enqueue(*args)
