"""`manage.py db_worker`: django-tasks-db's worker, in threads, plus the housekeeping jobs.

The tasks are run exactly as django-tasks-db runs them. Most of a worker's time goes to waiting
on the network (integration endpoints, Sinch), so one process runs `--threads` worker loops
(WORKER_THREADS, default 4), each with its own database connection, claiming tasks with
SKIP LOCKED as separate processes would: a slow endpoint holds one thread, not the worker.
Beside them, a thread runs the jobs registered in `configurator.housekeeping` (heartbeat,
sweeps for pending or expired work, pruning), at start and on their intervals, so that no work
waits for the next event and no cron is needed.
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
from django.db import connections
from django_tasks_db.management.commands import db_worker

from configurator import housekeeping

logger = logging.getLogger("django_tasks_db")


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
            "(default: WORKER_THREADS, %(default)s). --batch, --max-tasks and --reload run one.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        housekeeping.set_worker_id(options["worker_id"])
        stop = threading.Event()
        housekeeping.start(stop)
        threads: int = options.pop("threads")
        try:
            if threads <= 1 or options["batch"] or options["max_tasks"] or options["reload"]:
                super().handle(*args, **options)
            else:
                self._run_threads(threads, **options)
        finally:
            stop.set()

    def _run_threads(self, count: int, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        loops = [
            db_worker.Worker(
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

        def run(loop: db_worker.Worker) -> None:
            housekeeping.set_thread_worker_id(loop.worker_id)
            try:
                loop.run()
            finally:
                connections.close_all()

        def shutdown(signum: int, frame: FrameType | None) -> None:
            if not any(loop.running for loop in loops):
                logger.warning("Received %s - terminating.", signal.strsignal(signum))
                sys.exit(1)
            logger.warning(
                "Received %s - finishing the tasks in hand... (press Ctrl+C again to force)",
                signal.strsignal(signum),
            )
            for loop in loops:
                loop.running = False

        for name in ("SIGINT", "SIGTERM", "SIGQUIT"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), shutdown)
        started = [
            threading.Thread(target=run, args=(loop,), name=loop.worker_id, daemon=True)
            for loop in loops
        ]
        for thread in started:
            thread.start()
        for thread in started:
            while thread.is_alive():
                thread.join(timeout=0.5)
