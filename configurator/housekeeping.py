"""Periodic jobs that every worker process runs beside its tasks: sweeps, pruning, heartbeat.

Work must never depend on the next event to get done: a callback acknowledged just before a worker
died, a delivery whose worker was killed mid-send, tables that grow every day. Apps register such
jobs (`configurator.extensions.housekeeping_jobs`) in their `AppConfig.ready()`; `manage.py
db_worker` runs every due job in a thread of its own, once at start and then every job's interval,
so that no cron is needed and any number of workers share the work (each job is safe to run in
several processes at once).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django.utils import timezone

from configurator import audit, extensions
from configurator.choices import AuditVia

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A periodic job: what to run and how often (read at every run, so settings apply)."""

    name: str
    run: Callable[[], object]
    interval: Callable[[], float]


_worker_id = f"{socket.gethostname()}:{os.getpid()}"
_thread = threading.local()

# A worker thread's id is its process's id, this separator, and its number.
THREAD_SEPARATOR = "#"
# What the claim and heartbeat columns hold of an id.
WORKER_ID_LENGTH = 64


def worker_id() -> str:
    """Who claims work here: this worker thread, the db_worker process, or host:pid elsewhere."""
    return str(getattr(_thread, "worker_id", _worker_id))[:WORKER_ID_LENGTH]


def process_worker_id() -> str:
    """The db_worker process's id (its heartbeat's), whichever thread asks."""
    return _worker_id[:WORKER_ID_LENGTH]


def set_worker_id(value: str) -> None:
    """Name this process's claims after the db_worker's own id (its task rows carry it too)."""
    global _worker_id
    _worker_id = value


def set_thread_worker_id(value: str) -> None:
    """Name the calling thread's claims (a worker thread of a db_worker with --threads)."""
    _thread.worker_id = value


def process_of(worker: str) -> str:
    """The process a worker id belongs to (a thread's id names its process first)."""
    return worker.rpartition(THREAD_SEPARATOR)[0] or worker


_claims = threading.local()


def lease_cutoff() -> datetime:
    """Claims made (or renewed) before this moment have run out: any worker may take them over."""
    return timezone.now() - timedelta(seconds=settings.WORK_LEASE_SECONDS)


@contextmanager
def holding(renew: Callable[[], object]) -> Iterator[None]:
    """While the calling thread works on claimed work, `keep_claim()` renews it with `renew`."""
    previous = getattr(_claims, "renew", None)
    _claims.renew = renew
    try:
        yield
    finally:
        _claims.renew = previous


def keep_claim() -> None:
    """Renew the calling thread's claim, if it holds one: before each long wait (a network call).

    A claim's lease then only has to outlast one call, however many calls one piece of work makes.
    """
    renew = getattr(_claims, "renew", None)
    if renew is not None:
        renew()


# What a lost or refused database connection raises (Django wraps the driver's errors so): the
# database is away for now, and the work is tried again once it is back.
DATABASE_OUTAGE: tuple[type[Exception], ...] = (OperationalError, InterfaceError)

# The longest wait between two attempts to reach a database that is away.
OUTAGE_BACKOFF_MAX_SECONDS = 5.0
OUTAGE_BACKOFF_FIRST_SECONDS = 0.2


class Outage:
    """One worker loop's view of a database outage: logged once, retried with a bounded backoff.

    A loop calls `failed()` on each outage error (the first is logged with its traceback, the
    others are not: a minute-long outage would otherwise log a traceback per attempt) and waits
    the seconds it returns; `recovered()` once a query has gone through again.
    """

    def __init__(self, loop: str) -> None:
        self.loop = loop
        self.started: float | None = None
        self._delay = OUTAGE_BACKOFF_FIRST_SECONDS

    @property
    def ongoing(self) -> bool:
        """Whether the last attempt failed."""
        return self.started is not None

    def failed(self, error: BaseException) -> float:
        """Record a failed attempt; the seconds to wait before the next."""
        if self.started is None:
            self.started = time.monotonic()
            self._delay = OUTAGE_BACKOFF_FIRST_SECONDS
            logger.error(
                "%s: database unavailable, retrying until it is back",
                self.loop,
                exc_info=(type(error), error, error.__traceback__),
            )
        else:
            self._delay = min(self._delay * 2, OUTAGE_BACKOFF_MAX_SECONDS)
        # Whatever broke, the next attempt starts on a fresh connection.
        close_connections()
        return self._delay

    def recovered(self) -> None:
        """Record that the database answered (logs the end of an outage, if there was one)."""
        if self.started is not None:
            logger.warning(
                "%s: database reachable again after %.1f s",
                self.loop,
                time.monotonic() - self.started,
            )
            self.started = None


def close_connections() -> None:
    """Close the calling thread's database connections, broken ones included, whatever happens."""
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except Exception:
            # A connection that cannot even be closed is dropped: the next query opens a new one.
            connection.connection = None


_loops_alive: Callable[[], bool] = lambda: True  # noqa: E731


def set_loops_alive(check: Callable[[], bool]) -> None:
    """Tell the heartbeat how to know that this process's task loops are running."""
    global _loops_alive
    _loops_alive = check


def loops_alive() -> bool:
    """Whether this process's task loops are running (a heartbeat must not claim otherwise)."""
    return _loops_alive()


class Housekeeper:
    """Runs the jobs that are due; one failing job is logged and does not stop the others.

    While the database is away every job fails the same way: that is logged once (`Outage`),
    and the jobs are tried again on their intervals (at most a second apart, see `start`).
    """

    def __init__(
        self, jobs: list[Job] | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._jobs = jobs if jobs is not None else list(extensions.housekeeping_jobs)
        self._clock = clock
        self._next: dict[str, float] = {}
        self.outage = Outage("housekeeping")

    def run_due(self) -> float:
        """Run every job that is due; returns the seconds until the next one is."""
        for job in self._jobs:
            now = self._clock()
            if self._next.get(job.name, now) > now:
                continue
            try:
                job.run()
            except DATABASE_OUTAGE as error:
                self.outage.failed(error)
                # Tried again soon, not after the job's interval: a heartbeat must resume.
                self._next[job.name] = self._clock() + min(max(job.interval(), 0.1), 1.0)
                continue
            except Exception:
                logger.exception("housekeeping job %s failed", job.name)
            else:
                self.outage.recovered()
            finally:
                # A database error leaves the connection unusable until it is closed.
                close_old_connections()
            self._next[job.name] = self._clock() + max(job.interval(), 0.1)
        now = self._clock()
        return max(0.0, min((due - now for due in self._next.values()), default=1.0))


def start(stop: threading.Event, *, max_sleep: float = 1.0) -> threading.Thread:
    """Run the housekeeping loop in a daemon thread until `stop` is set."""

    def loop() -> None:
        housekeeper = Housekeeper()
        try:
            with audit.via(AuditVia.WORKER):
                while not stop.is_set():
                    wait = housekeeper.run_due()
                    stop.wait(min(wait, max_sleep))
        finally:
            connections.close_all()

    thread = threading.Thread(target=loop, name="housekeeping", daemon=True)
    thread.start()
    return thread
