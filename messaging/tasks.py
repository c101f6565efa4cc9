"""Background work of the messaging app, run by `manage.py db_worker` (django-tasks-db)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from messaging.webhooks.processing import callbacks_process_pending

# A web process enqueues at most two wake-ups per interval, however many callbacks it stores.
WAKE_INTERVAL = 0.2


@task()
def process_callbacks() -> int:
    """Drain pending callbacks; returns how many this run processed."""
    return callbacks_process_pending()


class _WakeSlots:
    """Coalesces wake-ups so that ingestion writes no task row per callback.

    Every stored callback is followed by a wake-up that runs after it was committed: either one
    enqueued now, or the one already scheduled for the end of the current interval.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slot_end = 0.0
        self._next_scheduled = False

    def wake(self) -> None:
        now = time.monotonic()
        with self._lock:
            if now >= self._slot_end:
                self._slot_end = now + WAKE_INTERVAL
                self._next_scheduled = False
                delay = None
            elif not self._next_scheduled:
                self._next_scheduled = True
                delay = self._slot_end - now
            else:
                return
        if delay is None:
            process_callbacks.enqueue()
        else:
            run_after = timezone.now() + timedelta(seconds=delay)
            process_callbacks.using(run_after=run_after).enqueue()

    def reset(self) -> None:
        with self._lock:
            self._slot_end = 0.0
            self._next_scheduled = False


_wake_slots = _WakeSlots()


def callback_wake() -> None:
    """Make sure a worker looks at pending callbacks soon (after the caller's commit)."""
    _wake_slots.wake()
