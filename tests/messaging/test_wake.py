"""Wake-ups of the callback workers: every stored callback is covered, few task rows written."""

from __future__ import annotations

import random

from messaging.wake import WAKE_INTERVAL, WakeSlots


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def slots() -> tuple[WakeSlots, Clock, list[tuple[float, float]]]:
    """Slots on a fake clock; each enqueue is recorded as (when asked, when due)."""
    clock = Clock()
    enqueued: list[tuple[float, float]] = []
    wake = WakeSlots(
        lambda delay: enqueued.append((clock.now, clock.now + (delay or 0.0))), clock=clock
    )
    return wake, clock, enqueued


def test_first_callback_after_a_quiet_spell_wakes_at_once() -> None:
    wake, clock, enqueued = slots()
    wake.wake()
    assert enqueued == [(1000.0, 1000.0)]
    clock.now += 5 * WAKE_INTERVAL
    wake.wake()
    assert enqueued[-1] == (clock.now, clock.now)


def test_later_callbacks_of_the_interval_share_one_wake_at_its_end() -> None:
    wake, clock, enqueued = slots()
    wake.wake()
    for _ in range(50):
        clock.now += WAKE_INTERVAL / 100
        wake.wake()
    assert len(enqueued) == 2
    assert enqueued[1][1] == 1000.0 + WAKE_INTERVAL


def test_steady_load_writes_one_task_row_per_interval() -> None:
    wake, clock, enqueued = slots()
    for _ in range(10_000):  # 10 s at 1,000 callbacks/s
        wake.wake()
        clock.now += 0.001
    assert len(enqueued) <= 10 / WAKE_INTERVAL + 2


def test_every_callback_is_followed_by_a_wake_due_after_it() -> None:
    rng = random.Random(7)
    wake, clock, enqueued = slots()
    for _ in range(20_000):
        clock.now += rng.choice([0.0, 0.0005, 0.01, 0.15, 0.3, 2.0]) * rng.random()
        wake.wake()
        stored_at = clock.now
        assert any(due >= stored_at for _, due in enqueued[-2:])
