"""Runs enqueued tasks in the test process with django-tasks-db's own worker code."""

from __future__ import annotations

import time
from collections.abc import Callable

from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

_worker = Worker(
    queue_names=["default"],
    interval=0,
    batch=True,
    backend_name="default",
    startup_delay=False,
    max_tasks=None,
    worker_id="test-worker",
    excluded_queue_names=[],
)


def run_ready_tasks() -> int:
    """Run every task that is due now (and those they enqueue that are due); returns the count."""
    ran = 0
    while True:
        result = DBTaskResult.objects.ready().order_by("run_after", "enqueued_at").first()
        if result is None:
            return ran
        result.claim(_worker.worker_id)
        _worker.run_task(result)
        ran += 1


def run_tasks_until(done: Callable[[], bool], timeout: float = 15.0) -> None:
    """Keep running due tasks (retries come due later) until `done()` or the timeout."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "tasks did not finish in time"
        if not run_ready_tasks():
            time.sleep(0.02)
