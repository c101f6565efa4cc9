"""Enqueueing background tasks so that the workers run them in the order they became due."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django_tasks.base import Task, TaskResult, TaskResultStatus
from django_tasks_db.models import DBTaskResult

# A check scheduled this close to an existing one is not worth a second task row.
SLACK = timedelta(seconds=1)


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


def run_by(task: Task[..., Any], when: datetime) -> None:
    """Make sure `task` (a check that takes no arguments) runs no later than `when`.

    One task row serves every due time it precedes: the overflow check and the outbound
    connect-timeout check schedule their next run this way after each run and each change.
    """
    scheduled = DBTaskResult.objects.filter(
        task_path=task.module_path,
        status=TaskResultStatus.READY,
        run_after__lte=when + SLACK,
    ).exists()
    if not scheduled:
        task.using(run_after=max(when, timezone.now())).enqueue()
