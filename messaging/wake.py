"""Waking the workers for stored callbacks: the processing task and its coalesced wake-ups.

The webhook stores a callback and calls `callback_wake` after its commit; a worker runs
`process_callbacks`, which drains the pending callbacks (`webhooks.processing`). The sweep
(`callbacks_sweep`, a housekeeping job) wakes a worker for callbacks nobody is working on.
Task rows queued before this module existed name `messaging.tasks.process_callbacks`, which
`messaging.tasks` still resolves.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from configurator.tasks import enqueue_in_turn
from messaging.webhooks.processing import callbacks_process_pending, callbacks_waiting

# A web process enqueues at most one wake-up per interval while callbacks keep coming.
WAKE_INTERVAL = 0.2


# Routing customers' messages comes before background work (integration deliveries): under a
# load the machine cannot keep up with, conversations still reach their queues promptly.
PROCESSING_PRIORITY = 10


@task(priority=PROCESSING_PRIORITY)
def process_callbacks() -> int:
    """Drain pending callbacks; returns how many this run processed.

    A full batch means more is waiting: another run is enqueued, so that the worker's other
    threads and the other workers share the backlog (each such run wakes one more).
    """
    return callbacks_process_pending(more_waiting=lambda: enqueue_in_turn(process_callbacks))


class WakeSlots:
    """Coalesces wake-ups so that ingestion writes no task row per callback.

    Every stored callback is followed by a wake-up that runs after it was committed: the first
    after a quiet spell at once; the others by the one wake-up scheduled for the end of the
    current interval. While callbacks keep coming, that scheduled wake-up is the only one of
    each interval: one task row per interval and process, however many callbacks it stores.
    """

    def __init__(
        self,
        enqueue: Callable[[float | None], object],
        interval: float = WAKE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._enqueue = enqueue
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._slot_end = -math.inf
        self._scheduled = False

    def wake(self) -> None:
        now = self._clock()
        with self._lock:
            if now < self._slot_end:
                if self._scheduled:
                    return
                delay: float | None = self._slot_end - now
            elif self._scheduled and now < self._slot_end + self._interval:
                # Still busy: the last interval's wake-up may have run before this commit, so
                # this callback needs its own, at the end of a new interval.
                self._slot_end = now + self._interval
                delay = self._interval
            else:
                self._slot_end = now + self._interval
                delay = None
            self._scheduled = delay is not None
        self._enqueue(delay)

    def reset(self) -> None:
        with self._lock:
            self._slot_end = -math.inf
            self._scheduled = False


def _enqueue_processing(delay: float | None) -> None:
    if delay is None:
        enqueue_in_turn(process_callbacks)
    else:
        run_after = timezone.now() + timedelta(seconds=delay)
        enqueue_in_turn(process_callbacks, run_after=run_after)


_wake_slots = WakeSlots(_enqueue_processing)


def callback_wake() -> None:
    """Make sure a worker looks at pending callbacks soon (after the caller's commit)."""
    _wake_slots.wake()


def callbacks_sweep() -> bool:
    """Housekeeping: wake a worker when callbacks wait with no live claim on them.

    An acknowledged callback must not depend on the next callback's wake-up: one stored just
    before its wake-up was lost, or claimed by a worker that stopped, is found here. The work
    itself runs as a task, so the sweep never keeps the housekeeping thread busy.
    """
    if not callbacks_waiting():
        return False
    enqueue_in_turn(process_callbacks)
    return True
