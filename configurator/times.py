"""How the admin writes a moment and a length of time, the same way on every page.

A moment always says its time zone ("2026-11-28 14:05:12 UTC"): administrators and the
people they talk to are not all in the server's zone. A waiting time is short words with
seconds while they matter ("45 s", "3 min 20 s", "2 h 5 min"), not Django's "0 minutes".
Lists and read-only fields get the same form of a moment from the format module in
configurator/formats/ (FORMAT_MODULE_PATH).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.formats import date_format

# A moment as the admin shows it; also DATETIME_FORMAT in configurator/formats/en/formats.py.
MOMENT_FORMAT = "Y-m-d H:i:s T"


def moment(value: datetime | None) -> str:
    """`value` in the server's time zone, to the second, with the zone's name; "—" for none."""
    if value is None:
        return "—"
    return date_format(timezone.localtime(value), MOMENT_FORMAT)


def duration(value: timedelta) -> str:
    """A length of time in its two largest units: "45 s", "3 min 20 s", "2 h 5 min", "3 d 4 h"."""
    seconds = max(0, int(value.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    units = [(days, "d"), (hours, "h"), (minutes, "min"), (seconds, "s")]
    while len(units) > 1 and units[0][0] == 0:
        units.pop(0)
    return " ".join(f"{amount} {unit}" for amount, unit in units[:2] if amount) or "0 s"


def waited(since: datetime | None, now: datetime | None = None) -> str:
    """How long something has waited since `since` ("—" when it is not waiting)."""
    if since is None:
        return "—"
    return duration((now or timezone.now()) - since)
