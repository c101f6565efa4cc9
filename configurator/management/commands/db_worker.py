"""`manage.py db_worker`: django-tasks-db's worker, in threads, plus the housekeeping jobs.

The tasks are run exactly as django-tasks-db runs them. Most of a worker's time goes to waiting
on the network (integration endpoints, Sinch), so one process runs `--threads` worker loops
(WORKER_THREADS, default 4), each with its own database connection, claiming tasks with
SKIP LOCKED as separate processes would: a slow endpoint holds one thread, not the worker.
Beside them, a thread runs the jobs registered in `configurator.housekeeping` (heartbeat,
sweeps for pending or expired work, pruning), at start and on their intervals, so that no work
waits for the next event and no cron is needed.

The process lives as long as its loops do. A database outage (a failed connect, a lost
connection) is ridden out by each loop: logged once, retried with a bounded backoff on a fresh
connection (`housekeeping.Outage`); the claims and leases of callbacks and deliveries keep the
work from being lost or done twice meanwhile. Anything else that ends a loop ends the process
with status 1, so that its supervisor (systemd, Kubernetes) starts a new one rather than keep a
worker that does nothing. A clean stop (SIGTERM, SIGINT) finishes the tasks in hand, deletes
the worker's heartbeat and exits 0.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from configurator import audit, housekeeping, workers
from configurator.choices import AuditVia

logger = logging.getLogger("django_tasks_db")

# How long a stop waits for the housekeeping thread's job in hand before it deletes the heartbeat.
HOUSEKEEPING_JOIN_SECONDS = 5.0
# How long the other loops get to finish their tasks in hand when one loop died.
FINISH_SECONDS = 30.0


class TaskLoop(db_worker.Worker):
    """django-tasks-db's task loop, which rides out database outages instead of ending."""

    def __init__(self, *, stop: threading.Event, **options: Any) -> None:
        super().__init__(**options)
        self.stop = stop
        # The task row being run, until the library has recorded how it ended.
        self.in_hand: DBTaskResult[Any, Any] | None = None

    def run(self) -> None:
        """Run the library's loop until stopped; after an outage, start it again once it is over."""
        outage = housekeeping.Outage(f"task loop {self.worker_id}")
        while self.running:
            try:
                if outage.ongoing:
                    # Retry on a plain connect: the library's loop logs its start on each call.
                    connections[DBTaskResult.objects.db].ensure_connection()
                    if self.in_hand is not None:
                        workers.task_interrupted(self.in_hand.pk)
                        self.in_hand = None
                    outage.recovered()
                super().run()
            except housekeeping.DATABASE_OUTAGE as error:
                self.stop.wait(outage.failed(error))
            self.startup_delay = False

    def run_task(self, db_task_result: DBTaskResult[Any, Any]) -> None:
        """Run one task as the library does, remembering it until its end is recorded."""
        self.in_hand = db_task_result
        super().run_task(db_task_result)
        self.in_hand = None


class Command(db_worker.Command):
    help = (
        "Run a database background worker: task loops in threads, with its housekeeping "
        "(sweeps, pruning, heartbeat)"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--threads",
            type=int,
            default=settings.WORKER_THREADS,
            help="Task loops in this process, each with its own database connection "
            "(default: WORKER_THREADS, %(default)s). --batch, --max-tasks and --reload run "
            "django-tasks-db's own single loop.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        housekeeping.set_worker_id(options["worker_id"])
        stop = threading.Event()
        keeper = housekeeping.start(stop)
        threads: int = options.pop("threads")
        try:
            if options["batch"] or options["max_tasks"] or options["reload"]:
                super().handle(*args, **options)
            else:
                self._run_threads(max(threads, 1), stop, **options)
        finally:
            housekeeping.set_loops_alive(lambda: False)
            stop.set()
            keeper.join(timeout=HOUSEKEEPING_JOIN_SECONDS)
            _forget_heartbeat()

    def _run_threads(self, count: int, stop: threading.Event, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        loops = [
            TaskLoop(
                stop=stop,
                queue_names=queue_names,
                interval=options["interval"],
                batch=False,
                backend_name=options["backend_name"],
                startup_delay=options["startup_delay"],
                max_tasks=None,
                worker_id=f"{options['worker_id']}{housekeeping.THREAD_SEPARATOR}{n}",
                excluded_queue_names=excluded,
            )
            for n in range(count)
        ]

        def shutdown(signum: int, frame: FrameType | None) -> None:
            if stop.is_set():
                logger.warning("Received %s - terminating.", signal.strsignal(signum))
                sys.exit(1)
            logger.warning(
                "Received %s - finishing the tasks in hand... (press Ctrl+C again to force)",
                signal.strsignal(signum),
            )
            stop.set()
            for loop in loops:
                loop.running = False

        for name in ("SIGINT", "SIGTERM", "SIGQUIT"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), shutdown)
        supervise(loops, stop)


def supervise(loops: list[TaskLoop], stop: threading.Event) -> None:
    """Run the loops in threads until they stop; SystemExit(1) as soon as one dies on its own.

    A loop ends on its own only by an error it could not ride out (a bug, not an outage): the
    worker then no longer does its share, so it must exit non-zero and be restarted rather than
    keep a heartbeat. The other loops get FINISH_SECONDS to finish their tasks in hand.
    """
    died = threading.Event()

    def run(loop: TaskLoop) -> None:
        housekeeping.set_thread_worker_id(loop.worker_id)
        try:
            with audit.via(AuditVia.WORKER):
                loop.run()
            if not stop.is_set():
                raise RuntimeError("the task loop ended without being stopped")
        except Exception:
            logger.critical(
                "task loop %s died: the worker exits with status 1 to be restarted",
                loop.worker_id,
                exc_info=True,
            )
            died.set()
        finally:
            housekeeping.close_connections()

    started = [
        threading.Thread(target=run, args=(loop,), name=loop.worker_id, daemon=True)
        for loop in loops
    ]
    housekeeping.set_loops_alive(
        lambda: not died.is_set() and not stop.is_set() and all(t.is_alive() for t in started)
    )
    for thread in started:
        thread.start()
    while any(thread.is_alive() for thread in started) and not died.is_set():
        died.wait(0.5)
    if died.is_set():
        stop.set()
        for loop in loops:
            loop.running = False
        for thread in started:
            thread.join(timeout=FINISH_SECONDS)
        raise SystemExit(1)


def _forget_heartbeat() -> None:
    """Delete this worker's heartbeat (a stop, clean or not); a database away leaves it to age."""
    try:
        workers.worker_stopped()
    except DatabaseError:
        logger.warning("the worker's heartbeat could not be deleted: it ages out instead")
    finally:
        housekeeping.close_connections()
