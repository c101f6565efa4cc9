"""The workers' own upkeep: heartbeats, and task rows left running by workers that stopped."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from prometheus_client.metrics_core import Metric

from configurator import bulk, housekeeping
from configurator.metrics import gauge
from configurator.models import WorkerHeartbeat
from configurator.tasks import enqueue_in_turn

logger = logging.getLogger(__name__)

_started_at = timezone.now()

# What a task row left running by a stopped worker is finished with.
STOPPED_WORKER_ERROR = "configurator.workers.WorkerStopped"
# What a task row cut short by a database outage is finished with.
OUTAGE_ERROR = "configurator.workers.DatabaseOutage"


def heartbeat() -> None:
    """Record that this worker is alive (one row per worker, updated in place).

    Only while its task loops run: a process whose loops died (or are stopping) must not keep
    /health/ready and configurator_workers_live counting it.
    """
    if not housekeeping.loops_alive():
        return
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=housekeeping.process_worker_id(),
        defaults={
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": _started_at,
            "seen_at": now,
        },
    )


def any_live() -> bool:
    """Whether a worker wrote its heartbeat within WORKER_STALE_SECONDS (as /health/ready asks):
    pages that wait for background work say when nothing will do it."""
    stale = timezone.now() - timedelta(seconds=settings.WORKER_STALE_SECONDS)
    return WorkerHeartbeat.objects.filter(seen_at__gte=stale).exists()


def stale_tasks_finish() -> int:
    """Mark task rows running in a worker not seen for WORKER_STALE_SECONDS as failed.

    django-tasks-db leaves a task RUNNING for good when its worker is killed. The work itself
    is safe (callbacks and deliveries carry leases of their own and are taken over); the row
    only has to stop claiming that something is running. Returns how many rows were finished.
    """
    stale = timezone.now() - timedelta(seconds=settings.WORKER_STALE_SECONDS)
    # A worker restarted under the same id is alive, but not the rows of its former self.
    live = dict(
        WorkerHeartbeat.objects.filter(seen_at__gte=stale).values_list("worker_id", "started_at")
    )
    rows = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=stale).only(
        "id", "worker_ids", "started_at", "task_path"
    )
    orphans = []
    for row in rows[:1000]:
        process = housekeeping.process_of(str(row.worker_ids[-1])) if row.worker_ids else ""
        started = live.get(process)
        if started is None or row.started_at is None or row.started_at < started:
            if bulk.is_resumable(row.task_path):
                _resume(str(row.pk))
            else:
                orphans.append(row.pk)
    finished = DBTaskResult.objects.filter(pk__in=orphans, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.FAILED,
        finished_at=timezone.now(),
        exception_class_path=STOPPED_WORKER_ERROR,
        traceback=(
            "The worker running this task stopped (not seen for "
            f"{settings.WORKER_STALE_SECONDS} s). Callbacks and deliveries it held are "
            "taken over by other workers once their lease runs out."
        ),
    )
    if finished:
        logger.warning("finished %d task rows of workers that stopped", finished)
    return finished


def task_interrupted(task_id: UUID | str) -> bool:
    """Mark a task row failed that a database outage cut short in this worker (once it is back).

    Its worker lives on, so `stale_tasks_finish` would never finish it. The work is safe: a
    callback or delivery it held is taken over once its lease runs out. Returns whether the row
    was still running.
    """
    row = DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.RUNNING).first()
    if row is None:
        return False
    if bulk.is_resumable(row.task_path):
        # A walk's batch rolled back with the outage: the walk goes on from it (bulk.py).
        _resume(
            str(row.pk),
            error=OUTAGE_ERROR,
            reason="The database went away while this walk ran; it was enqueued again.",
        )
        return True
    return bool(
        DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=timezone.now(),
            exception_class_path=OUTAGE_ERROR,
            traceback=(
                "The database went away while this task ran. Callbacks and deliveries it held "
                "are taken over once their lease runs out."
            ),
        )
    )


def tasks_waiting(task_path: str) -> bool:
    """Whether a task of this path is due and waiting for a worker (the workers are behind)."""
    return DBTaskResult.objects.ready().filter(task_path=task_path).exists()


def worker_stopped() -> None:
    """Delete this worker's heartbeat on a clean stop: it stops counting as live at once.

    Its task rows are finished by then (a clean stop finishes the task in hand); one left
    running by a forced stop is finished by `stale_tasks_finish` as a killed worker's would be.
    """
    WorkerHeartbeat.objects.filter(worker_id=housekeeping.process_worker_id()).delete()


def workers_forget() -> int:
    """Delete heartbeats of workers gone for a day (their task rows are finished by then)."""
    gone = timezone.now() - timedelta(days=1)
    deleted, _ = WorkerHeartbeat.objects.filter(seen_at__lt=gone).delete()
    return deleted


def workers_state() -> Iterable[Metric]:
    """The workers' heartbeats for /metrics: live workers, and how long ago each was seen.

    The heartbeat table holds one row per worker seen in the last day (`workers_forget`).
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.WORKER_STALE_SECONDS)
    rows = list(WorkerHeartbeat.objects.values_list("worker_id", "hostname", "seen_at"))
    live = gauge(
        "configurator_workers_live",
        "db_worker processes seen within WORKER_STALE_SECONDS (/health/ready needs one).",
    )
    live.add_metric([], sum(1 for _, _, seen in rows if seen >= stale))
    seen_ago = gauge(
        "configurator_worker_heartbeat_age_seconds",
        "Seconds since each worker (seen in the last day) wrote its heartbeat.",
        ["worker", "host"],
    )
    for worker, host, seen in rows:
        seen_ago.add_metric([worker, host], max((now - seen).total_seconds(), 0.0))
    return [live, seen_ago]


def _resume(
    task_id: str,
    *,
    error: str = STOPPED_WORKER_ERROR,
    reason: str = "The worker running this walk stopped; it was enqueued again.",
) -> None:
    """Finish a walk's task row left running, and enqueue the walk again where it was.

    Its batch rolled back with its worker, so the same arguments go on with the same batch
    (`configurator.bulk`). Only the worker whose update finished the row enqueues it.
    """
    with transaction.atomic():
        row = DBTaskResult.objects.select_for_update().filter(pk=task_id).first()
        if row is None or row.status != TaskResultStatus.RUNNING:
            return
        row.status = TaskResultStatus.FAILED
        row.finished_at = timezone.now()
        row.exception_class_path = error
        row.traceback = reason
        row.save(update_fields=["status", "finished_at", "exception_class_path", "traceback"])
        walk = import_string(row.task_path)
        enqueue_in_turn(walk, *row.args_kwargs["args"], **row.args_kwargs["kwargs"])
    logger.warning("enqueued again the walk %s: %s", row.task_path, reason)
