"""How the admin writes moments and lengths of time (configurator/times.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils.formats import localize

from configurator.times import duration, moment, waited


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (60, "1 min"),
        (200, "3 min 20 s"),
        (3_600, "1 h"),
        (7_205, "2 h"),
        (7_500, "2 h 5 min"),
        (86_400, "1 d"),
        (3 * 86_400 + 4 * 3_600 + 59, "3 d 4 h"),
        (-5, "0 s"),
    ],
)
def test_a_duration_is_its_two_largest_units(seconds: int, shown: str) -> None:
    assert duration(timedelta(seconds=seconds)) == shown


def test_a_moment_says_its_time_zone() -> None:
    at = datetime(2026, 11, 28, 14, 5, 7, tzinfo=UTC)
    assert moment(at) == "2026-11-28 14:05:07 UTC"
    assert moment(None) == "—"


def test_lists_and_read_only_fields_show_the_time_zone_too() -> None:
    """Django's own rendering of a datetime (lists, read-only fields) uses the project's format."""
    assert localize(datetime(2026, 11, 28, 14, 5, 7, tzinfo=UTC)) == "2026-11-28 14:05:07 UTC"


def test_waited_counts_from_since_to_now() -> None:
    now = datetime(2026, 11, 28, 14, 5, 7, tzinfo=UTC)
    assert waited(now - timedelta(seconds=45), now) == "45 s"
    assert waited(None, now) == "—"
