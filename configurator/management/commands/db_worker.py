"""`manage.py db_worker`: django-tasks-db's worker, plus the periodic housekeeping jobs.

The tasks are run exactly as django-tasks-db runs them; beside them, a thread runs the jobs
registered in `configurator.housekeeping` (heartbeat, sweeps for pending or expired work,
pruning), at start and on their intervals, so that no work waits for the next event and no
cron is needed.
"""

from __future__ import annotations

import threading
from typing import Any

from django_tasks_db.management.commands import db_worker

from configurator import housekeeping


class Command(db_worker.Command):
    help = "Run a database background worker, with its housekeeping (sweeps, pruning, heartbeat)"

    def handle(self, *args: Any, **options: Any) -> None:
        housekeeping.set_worker_id(options["worker_id"])
        stop = threading.Event()
        housekeeping.start(stop)
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
