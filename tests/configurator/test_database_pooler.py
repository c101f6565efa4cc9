"""DATABASE_POOLER: what the settings turn off behind a transaction-mode pooler.

The settings are read as a worker or web process started with the test's environment would read
them (tests.settingsrun), in this process.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.settingsrun import settings_read_from


def _shown(**environment: str) -> list[Any]:
    """The pooler, and what it turned off of the database connection's settings."""
    settings = settings_read_from(environment)
    database = settings["DATABASES"]["default"]
    options = database.get("OPTIONS", {})
    return [
        settings["DATABASE_POOLER"],
        database.get("DISABLE_SERVER_SIDE_CURSORS", False),
        "prepare_threshold" in options,
        options.get("prepare_threshold"),
    ]


def test_pgbouncer_turns_off_what_cannot_cross_transactions() -> None:
    shown = _shown(
        DATABASE_URL="postgres://postgres@127.0.0.1:6432/configurator", DATABASE_POOLER="PgBouncer"
    )
    assert shown == ["pgbouncer", True, True, None]


def test_without_pooler_nothing_changes() -> None:
    shown = _shown(DATABASE_URL="postgres://postgres@127.0.0.1:5432/configurator")
    assert shown == ["", False, False, None]


def test_pooler_setting_has_no_effect_on_sqlite() -> None:
    shown = _shown(DATABASE_URL="sqlite:///unused.sqlite3", DATABASE_POOLER="pgbouncer")
    assert shown == ["pgbouncer", False, False, None]


def test_unknown_pooler_is_refused_at_start() -> None:
    with pytest.raises(ImproperlyConfigured) as refused:
        _shown(DATABASE_POOLER="pgpool")
    assert "DATABASE_POOLER must be empty" in str(refused.value)
    assert "'pgpool'" in str(refused.value)
