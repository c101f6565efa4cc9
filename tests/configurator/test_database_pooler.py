"""DATABASE_POOLER: what the settings turn off behind a transaction-mode pooler."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.workers import ROOT

SHOW = (
    "import json; from django.conf import settings as s; d = s.DATABASES['default']; "
    "print(json.dumps([s.DATABASE_POOLER, d.get('DISABLE_SERVER_SIDE_CURSORS', False), "
    "'prepare_threshold' in d.get('OPTIONS', {}), d.get('OPTIONS', {}).get('prepare_threshold')]))"
)


def _settings(**environment: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **environment}
    code = f"import django; django.setup(); {SHOW}"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_pgbouncer_turns_off_what_cannot_cross_transactions() -> None:
    shown = _settings(
        DATABASE_URL="postgres://postgres@127.0.0.1:6432/configurator", DATABASE_POOLER="PgBouncer"
    )
    assert json.loads(shown.stdout) == ["pgbouncer", True, True, None], shown.stderr


def test_without_pooler_nothing_changes() -> None:
    shown = _settings(DATABASE_URL="postgres://postgres@127.0.0.1:5432/configurator")
    assert json.loads(shown.stdout) == ["", False, False, None], shown.stderr


def test_pooler_setting_has_no_effect_on_sqlite() -> None:
    shown = _settings(DATABASE_URL="sqlite:///unused.sqlite3", DATABASE_POOLER="pgbouncer")
    assert json.loads(shown.stdout) == ["pgbouncer", False, False, None], shown.stderr


def test_unknown_pooler_is_refused_at_start() -> None:
    shown = _settings(DATABASE_POOLER="pgpool")
    assert shown.returncode != 0
    assert "DATABASE_POOLER must be empty" in shown.stderr
    assert "'pgpool'" in shown.stderr
